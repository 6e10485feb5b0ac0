"""Episode numbers in date order (issue 27.5): among the published episodes of a season, not
in build order, never consumed by drafts, never changed once given; a back-catalogue
episode whose date's place is taken is said to be out of order."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from conftest import run_cli

from duopod.store.numbering import (
    UNNUMBERED,
    date_order_number,
    effective_numbers,
    number_for,
    out_of_order,
)
from duopod.store.record import EpisodeRecord

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
SAMPLE = Path(__file__).parent / "data" / "episode-v1.json"


def record(guid: str, day: str, number: int = UNNUMBERED, *, status: str = "published",
           season: int | None = None) -> EpisodeRecord:
    base = EpisodeRecord.from_json(SAMPLE.read_text(encoding="utf-8"), light=True)
    when = dt.datetime.fromisoformat(f"{day}T06:00+00:00")
    return replace(base, guid=guid, slug=f"{day}-{guid}", script=f"{guid}.md", number=number,
                   status=status, published=when, date=when.date(), season=season)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T06:00+00:00")


def test_a_number_is_the_one_its_date_gives_when_that_is_free() -> None:
    numbered = [(at("2025-10-01"), 1), (at("2025-12-01"), 5)]  # 5 given by 'episode:'
    assert date_order_number(at("2025-11-01"), numbered) == 2  # the gap, in date order
    assert date_order_number(at("2026-01-01"), numbered) == 6
    # the back catalogue: its date's place (1) is taken: the next free number
    assert date_order_number(at("2025-08-04"), numbered) == 6


def test_episodes_listed_together_are_numbered_by_date_not_build_order() -> None:
    built = [record("c", "2025-12-01"), record("a", "2025-10-01"), record("b", "2025-11-01"),
             record("d", "2025-11-15", status="draft")]
    assert effective_numbers(built, NOW) == {"a": 1, "b": 2, "c": 3, "d": UNNUMBERED}
    # one built now, dated between two numbered ones with a gap: the gap
    others = [record("a", "2025-10-01", 1), record("c", "2025-12-01", 4)]
    assert number_for(record("b", "2025-11-01"), None, None, others, NOW) == 2
    assert number_for(record("b", "2025-11-01"), None, 9, others, NOW) == 9  # explicit wins
    # seasons number apart, by date within each
    two = [record("x", "2025-10-01", 1, season=2)]
    assert number_for(record("y", "2025-08-01", season=1), None, None, two, NOW) == 1


def test_a_back_catalogue_number_out_of_date_order_is_said() -> None:
    published = [record("a", "2025-10-01", 1), record("b", "2025-11-01", 2)]
    old = record("old", "2025-08-04")
    old = replace(old, number=number_for(old, None, None, published, NOW))
    assert old.number == 3
    message = out_of_order(old, published)
    assert message is not None
    assert "numbered 3 although it is dated 2025-08-04, before episode 2" in message
    assert "'episode:'" in message
    assert out_of_order(replace(record("c", "2025-12-01"), number=3), published) is None


def _script(folder: Path, name: str, day: str) -> Path:
    path = folder / "scripts" / f"{name}.md"
    path.write_text(f"---\ntitle: 节目{name}\ndate: {day}\nslug: {name}\nsummary: 第{name}期。\n"
                    "hosts: [雷总, 董小姐]\n---\n雷总\n今天聊芯片。\n董小姐\n好的，芯片。\n",
                    encoding="utf-8")
    return path


def _numbers(folder: Path) -> dict[str, int]:
    parsed = feedparser.parse((folder / "episodes" / "feed.xml").read_bytes())
    assert not parsed.bozo
    return {e.link.rstrip("/").rsplit("/", 1)[-1]: int(e.itunes_episode)
            for e in parsed.entries}


@pytest.mark.slow
def test_a_build_numbers_by_date_and_a_late_back_catalogue_episode_is_flagged(
        show: Path) -> None:
    for old in (show / "scripts").glob("*.md"):
        old.unlink()
    later = _script(show, "later", "2025-11-01")
    earlier = _script(show, "earlier", "2025-10-01")
    done = run_cli(show, "build", str(later), str(earlier), "--engine", "espeak")
    assert done.returncode == 0, done.stderr
    assert _numbers(show) == {"earlier": 1, "later": 2}  # not the order they were named in

    back = _script(show, "back", "2025-08-04")
    done = run_cli(show, "build", str(back), "--engine", "espeak")
    assert done.returncode == 0, done.stderr
    assert _numbers(show) == {"earlier": 1, "later": 2, "back": 3}  # published ones kept
    assert "numbered 3 although it is dated 2025-08-04, before episode 2 (later" in \
        done.stderr.replace("\n", " ")
    again = run_cli(show, "build", str(back), "--engine", "espeak")  # a rebuild: said once
    assert again.returncode == 0 and "although it is dated" not in again.stderr
    record = json.loads((show / "episodes" / "back" / "episode.json").read_text("utf-8"))
    assert record["episode"] == 3


def test_a_version_in_another_language_takes_no_number_of_its_own() -> None:
    """``duopod translate``'s version is the same story: it must not use up a number of the
    show's (feed.xml had a gap where the version took #2), and its own language's feed
    shows its original's number."""
    original = record("a", "2025-12-10")
    version = replace(record("a-en", "2025-12-10"), translation_of=original.slug)
    later = record("b", "2025-12-12")
    assert effective_numbers([original, version, later], NOW) == {
        "a": 1, "a-en": UNNUMBERED, "b": 2}
    numbered = [replace(original, number=1)]
    assert number_for(version, None, None, numbered, NOW) == UNNUMBERED
    assert number_for(later, None, None, [*numbered, version], NOW) == 2
    assert number_for(version, None, 7, numbered, NOW) == 7  # an explicit number still wins
