"""A show's whole life: drafts, schedules, unpublishing, seasons and types, an episode's own
language and art, the show's identity kept for life, and Apple's rules."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from conftest import ENGLISH, MANDARIN, copy_show, run_cli

from duopod.errors import InputError
from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace
from duopod.site.feed import NAMESPACES
from duopod.site.render import listed
from duopod.store.record import EpisodeRecord

IT, PC = NAMESPACES["itunes"], NAMESPACES["podcast"]


@pytest.fixture
def published(tmp_path: Path, built_show: Path) -> Path:
    show = copy_show(tmp_path / "show")
    shutil.copytree(built_show / ".duopod", show / ".duopod")
    shutil.copytree(built_show / "episodes", show / "episodes")
    return show


def feed_titles(show: Path) -> list[str]:
    parsed = feedparser.parse((show / "episodes" / "feed.xml").read_bytes())
    assert not parsed.bozo
    return [e.title for e in parsed.entries]


def variant(show: Path, name: str, **front: str) -> str:
    """A copy of the English example as another episode, with extra front-matter lines."""
    text = (show / "scripts" / ENGLISH).read_text(encoding="utf-8")
    text = text.replace("title: Why Open-Weight Models Keep Getting Cheaper", f"title: {name}")
    if "date" in front:
        text = text.replace("date: 2025-12-12", f"date: {front.pop('date')}")
    extra = "".join(f"{key}: {value}\n" for key, value in front.items())
    text = text.replace("hosts: [Alex, Sam]\n", f"hosts: [Alex, Sam]\n{extra}")
    path = show / "scripts" / f"{re.sub(r'[^a-z]+', '-', name.lower())}.md"
    path.write_text(text, encoding="utf-8")
    return path.relative_to(show).as_posix()


def build(show: Path, script: str) -> None:
    result = run_cli(show, "build", script, "--engine", "espeak")
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- front matter


def test_lifecycle_fields_are_read_and_checked(show: Path) -> None:
    path = show / "scripts" / "x.md"
    base = "---\ntitle: T\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\n{extra}---\n雷总\n你好。\n董小姐\n你好。\n"
    path.write_text(base.format(extra="status: draft\nseason: 2\nepisode_type: bonus\n"
                                "publish_at: 2025-12-10T07:30+08:00\nexplicit: true\n"
                                "language: en-US\n"), encoding="utf-8")
    life = parse_script(path, workspace=show).meta.lifecycle
    assert (life.status, life.season, life.episode_type, life.explicit, life.language) == (
        "draft", 2, "bonus", True, "en-US")
    assert life.publish_at == dt.datetime(2025, 12, 9, 23, 30, tzinfo=dt.UTC)
    for extra, message in (("status: later\n", "status"), ("season: 0\n", "season"),
                           ("episode_type: teaser\n", "episode_type"),
                           ("publish_at: tomorrow\n", "publish_at"), ("time: 25:00\n", "time"),
                           ("explicit: maybe\n", "explicit"), ("image: nope.png\n", "image"),
                           ("language: 中文\n", "language")):
        path.write_text(base.format(extra=extra), encoding="utf-8")
        with pytest.raises(InputError, match=message) as caught:
            parse_script(path, workspace=show)
        assert caught.value.line == 5


def test_a_show_without_a_cover_is_refused(show: Path) -> None:
    text = (show / "show.toml").read_text(encoding="utf-8")
    (show / "show.toml").write_text(re.sub(r"(?m)^cover = .*$", "", text), encoding="utf-8")
    with pytest.raises(InputError, match="missing required field 'cover'"):
        load_workspace(show)


def test_listing_waits_for_the_publication_time() -> None:
    sample = Path(__file__).parent / "data" / "episode-v1.json"
    record = EpisodeRecord.from_json(sample.read_text(encoding="utf-8"), light=True)
    before = record.published - dt.timedelta(seconds=1)
    assert listed([record], before) == [] and listed([record], record.published) == [record]
    from dataclasses import replace

    assert listed([replace(record, status="draft")], record.published) == []


# ---------------------------------------------------------------- the published show


@pytest.mark.slow
def test_a_draft_builds_but_never_reaches_the_feed(published: Path) -> None:
    before = feed_titles(published)
    build(published, variant(published, "Draft Talk", status="draft"))
    assert feed_titles(published) == before
    assert (published / ".duopod" / "pending" / "2025-12-12-draft-talk" / "index.html"
            ).is_file()
    assert not (published / "episodes" / "2025-12-12-draft-talk").exists()
    assert "Draft Talk" not in (published / "episodes" / "index.html").read_text("utf-8")


def public_mentions(show: Path, slugs: set[str]) -> list[str]:
    """Files of the public site (or of a deployed copy) that name one of ``slugs``."""
    found = []
    for path in sorted(show.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".xml", ".json", ".md", ".mp3"):
            text = path.read_bytes().decode("utf-8", "replace")
            found += [f"{path.relative_to(show)}: {s}" for s in slugs
                      if s in text or s in path.as_posix()]
    return found


@pytest.mark.slow
def test_drafts_and_scheduled_episodes_are_nowhere_public(published: Path, tmp_path: Path
                                                          ) -> None:
    """Issue 27.4: a draft dated after the published episodes and an episode scheduled for
    later are built; nothing public names them (pages, index, feed: nothing deployed), and
    the preview serves them, marked, to a real podcast app."""
    import subprocess
    import urllib.request

    from duopod.deploy import deploy_show
    from duopod.serve import in_background

    build(published, variant(published, "Draft Later", status="draft", date="2025-12-20"))
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)
    build(published, variant(published, "Scheduled Later", publish_at=soon.isoformat()))
    build(published, variant(published, "Published Now", date="2025-12-13"))
    pending = {"2025-12-20-draft-later", "2025-12-12-scheduled-later"}
    assert sorted(p.name for p in (published / ".duopod" / "pending").iterdir()) == \
        sorted(pending)
    assert public_mentions(published / "episodes", pending) == []
    page = (published / "episodes" / "2025-12-13-published-now" / "index.html").read_text(
        encoding="utf-8")
    assert 'rel="next"' not in page  # the newest public episode has no next one

    with (published / "show.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[deploy.www]\nurl = "{(tmp_path / "www").as_uri()}"\n')
    deploy_show(load_workspace(published), None)
    assert public_mentions(tmp_path / "www", pending) == []

    with in_background(load_workspace(published)) as preview:
        feed = urllib.request.urlopen(f"{preview.url}/feed.xml", timeout=30).read()
        parsed = feedparser.parse(feed)
        titles = [e.title for e in parsed.entries]
        assert "[draft] Draft Later" in titles
        assert f"[scheduled {soon:%Y-%m-%d %H:%M} UTC] Scheduled Later" in titles
        assert "Published Now" in titles
        draft = next(e for e in parsed.entries if e.title.startswith("[draft]"))
        assert "itunes_episode" not in draft  # no number until it is published
        audio = urllib.request.urlopen(draft.enclosures[0].href, timeout=30).read()
        assert len(audio) == int(draft.enclosures[0].length)
        if shutil.which("gpo") is None:
            pytest.skip("Debian's gpodder (gpo) is not installed")
        env = {"GPODDER_HOME": str(tmp_path / "gpo"), "PATH": "/usr/bin:/bin",
               "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads")}
        for args in (("subscribe", f"{preview.url}/feed.xml"), ("update",)):
            subprocess.run(["gpo", *args], env=env, check=True, capture_output=True,
                           timeout=120)
        listing = subprocess.run(["gpo", "episodes"], env=env, check=True, text=True,
                                 capture_output=True, timeout=120).stdout
    assert "[draft] Draft Later" in listing and "] Scheduled Later" in listing


@pytest.mark.slow
def test_a_scheduled_episode_appears_once_its_time_has_come(published: Path) -> None:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=25)
    build(published, variant(published, "Scheduled Talk",
                             publish_at=soon.isoformat(timespec="seconds")))
    assert "Scheduled Talk" not in feed_titles(published)
    root = ET.parse(published / "episodes" / "feed.xml").getroot()
    last = dt.datetime.strptime(root.findtext("channel/lastBuildDate"),
                                "%a, %d %b %Y %H:%M:%S %z")
    assert last < soon  # the feed's dates never lie
    wait = (soon - dt.datetime.now(dt.UTC)).total_seconds()
    if wait > 0:
        import time

        time.sleep(wait + 1)
    assert run_cli(published, "publish").returncode == 0
    assert feed_titles(published)[0] == "Scheduled Talk"


@pytest.mark.slow
def test_unpublish_then_republish_keeps_the_guid_and_number(published: Path) -> None:
    folder = next((published / "episodes").glob("2025-12-12-*"))
    record = json.loads((folder / "episode.json").read_text(encoding="utf-8"))
    result = run_cli(published, "unpublish", folder.name)
    assert result.returncode == 0, result.stderr
    assert not folder.exists() and record["title"] not in feed_titles(published)
    kept = list((published / ".duopod" / "unpublished").glob(f"{folder.name}-*/episode.json"))
    assert len(kept) == 1  # nothing deleted
    assert run_cli(published, "unpublish", folder.name).returncode == 2
    build(published, f"scripts/{ENGLISH}")
    again = json.loads((folder / "episode.json").read_text(encoding="utf-8"))
    assert (again["guid"], again["episode"]) == (record["guid"], record["episode"])


@pytest.mark.slow
def test_moving_the_show_keeps_its_podcast_guid(published: Path) -> None:
    def guid() -> str:
        root = ET.parse(published / "episodes" / "feed.xml").getroot()
        return root.findtext(f"channel/{{{PC}}}guid") or ""

    first = guid()
    toml = published / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "https://podcast.example.com", "https://new-host.example.org"), encoding="utf-8")
    assert run_cli(published, "publish").returncode == 0
    feed = (published / "episodes" / "feed.xml").read_text(encoding="utf-8")
    assert "https://new-host.example.org/" in feed and guid() == first


@pytest.mark.slow
def test_season_type_art_explicit_and_channel_rights(published: Path) -> None:
    toml = published / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('type = "episodic"', '''type = "episodic"
copyright = "© 2025 duopod Studio"
locked = true
medium = "podcast"
license = "CC-BY-4.0"
[funding]
url = "https://example.com/support"
text = "Support the show"'''), encoding="utf-8")
    shutil.copy(published / "art" / "cover.png", published / "scripts" / "art.png")
    build(published, variant(published, "Bonus Talk", season="2", episode_type="bonus",
                             explicit="true", image="art.png"))
    root = ET.parse(published / "episodes" / "feed.xml").getroot()
    channel = root.find("channel")
    assert channel.findtext("copyright") == "© 2025 duopod Studio"
    assert channel.find(f"{{{PC}}}locked").text == "yes"
    assert channel.find(f"{{{PC}}}locked").get("owner") == "producer@example.com"
    assert channel.find(f"{{{PC}}}funding").get("url") == "https://example.com/support"
    assert channel.findtext(f"{{{PC}}}license") == "CC-BY-4.0"
    cover = channel.find(f"{{{IT}}}image").get("href")
    assert re.search(r"/cover-[0-9a-f]{10}\.png$", cover)  # named by content
    item = channel.find("item")
    assert item.findtext("title") == "Bonus Talk"
    assert item.findtext(f"{{{IT}}}season") == "2"
    assert item.findtext(f"{{{IT}}}episodeType") == "bonus"
    assert item.findtext(f"{{{IT}}}explicit") == "true"
    image = item.find(f"{{{IT}}}image").get("href")
    assert (published / "episodes" / image.split("/")[-2] / image.split("/")[-1]).is_file()
    others = channel.findall("item")[1:]
    assert {i.findtext(f"{{{IT}}}explicit") for i in others} == {"false"}


def test_an_english_episode_in_the_mandarin_show_speaks_english(built_show: Path) -> None:
    folder = next((built_show / "episodes").glob("2025-12-12-*"))
    record = json.loads((folder / "episode.json").read_text(encoding="utf-8"))
    assert record["language"] == "en-US"
    assert record["timeline"]["chapters"][0]["title"] == "Opening"
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en-US">' in page and "Transcript" in page and "文字稿" not in page
    root = ET.parse(built_show / "episodes" / "feed.xml").getroot()
    english = next(i for i in root.iter("item") if i.findtext("title").startswith("Why"))
    assert {t.get("language") for t in english.findall(f"{{{PC}}}transcript")} == {"en-US"}
    mandarin = next((built_show / "episodes").glob("2025-12-10-*"))
    assert '<html lang="zh-CN">' in (mandarin / "index.html").read_text(encoding="utf-8")
    assert MANDARIN


def test_voices_must_speak_the_episode_language(show: Path) -> None:
    import asyncio

    from duopod.speech.engines import get_engine
    from duopod.speech.render import render_turns_async

    path = show / "scripts" / "en.md"
    path.write_text("---\ntitle: T\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\nlanguage: en-US\n"
                    "---\n雷总\nHello.\n董小姐\nHi.\n", encoding="utf-8")
    lei = show / "voices" / "lei.toml"  # without its English table (issue 26.1)
    lei.write_text(re.sub(r'\[espeak\."en-US"\]\n(\w+ = .*\n)*', "",
                          lei.read_text(encoding="utf-8")), encoding="utf-8")
    ws = load_workspace(show)
    script = parse_script(path, workspace=show)
    with pytest.raises(InputError, match="speaks cmn, but the episode is in en-US; add a "
                       r'\[espeak\."en-US"\] table'):
        asyncio.run(render_turns_async(script, ws, get_engine("espeak")))
    assert not (ws.cache_dir / "speech").exists()  # refused before anything rendered


def test_the_page_marks_laughs_where_the_script_put_them(show: Path) -> None:
    from dataclasses import replace

    from duopod.site.render import render_episode_page

    sample = Path(__file__).parent / "data" / "episode-v1.json"
    record = EpisodeRecord.from_json(sample.read_text(encoding="utf-8"))
    assert record.timeline is not None
    first = replace(record.timeline.turns[0], laughs=((0, "笑"), (-1, "laughs")))
    record = replace(record, timeline=replace(record.timeline,
                                              turns=(first, *record.timeline.turns[1:])))
    page = render_episode_page(load_workspace(show), record, [])
    opening = page[page.index('<div class="turn">'):]
    opening = opening[: opening.index("</p>")]
    assert opening.index("[laughs]") < opening.index('class="sentence"')
    assert '早上好，欢迎收听芯闻两人谈。</span><span class="direction">（笑）</span>' in opening
