"""One keeper for the show: the show read once and typed (lines from the TOML parser), the
producer's files written through one door (no lost update, nothing replaced by surprise),
and the seams between stages that used to break (a first episode made at 02:00 UTC)."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest
import time_machine
from aiohttp.test_utils import TestClient
from conftest import MANDARIN, copy_show
from test_studio import post, with_client
from typer.testing import CliRunner

from duopod.cli.app import app
from duopod.disk.owned import ABSENT, Changed, FileExists, ProducerFiles
from duopod.errors import InputError
from duopod.show.workspace import ShowKeeper, load_workspace
from duopod.speech.lexicon import Addition, add_lexicon_entries, load_show_lexicon

# ---------------------------------------------------------------- the door


def test_a_write_over_a_version_that_changed_is_refused_and_writes_nothing(
        tmp_path: Path) -> None:
    door = ProducerFiles(tmp_path, tmp_path / ".locks")
    path = tmp_path / "scripts" / "a.md"
    first = door.write(path, b"one", replaces=ABSENT)
    door.write(path, b"two", replaces=first)
    with pytest.raises(Changed, match="changed on disk"):
        door.write(path, b"three", replaces=first)  # read "one", but it is "two" now
    assert path.read_bytes() == b"two"
    with pytest.raises(Changed):
        door.write(tmp_path / "new.md", b"x", replaces=first)  # it does not exist
    assert not (tmp_path / "new.md").exists()


def test_create_never_replaces_and_creates_together_or_not_at_all(tmp_path: Path) -> None:
    door = ProducerFiles(tmp_path)
    door.create(tmp_path / "s.md", b"mine")
    with pytest.raises(FileExists):
        door.create(tmp_path / "s.md", b"theirs")
    assert (tmp_path / "s.md").read_bytes() == b"mine"
    with pytest.raises(FileExists):  # the source is new, the script is taken: neither lands
        door.create_together([(tmp_path / "sources" / "s.txt", b"article"),
                              (tmp_path / "s.md", b"again")])
    assert not (tmp_path / "sources" / "s.txt").exists()
    assert (tmp_path / "s.md").read_bytes() == b"mine"
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_the_door_refuses_a_path_out_of_the_show_even_through_a_link(tmp_path: Path) -> None:
    show, outside = tmp_path / "show", tmp_path / "outside"
    show.mkdir()
    outside.mkdir()
    (show / "scripts").symlink_to(outside)
    door = ProducerFiles(show, show / ".locks")
    with pytest.raises(InputError, match="outside the show"):
        door.create(show / "scripts" / "x.md", b"x")
    with pytest.raises(InputError, match="outside the show"):
        door.update(show / ".." / "elsewhere.toml", lambda _o: b"x")
    assert not list(outside.iterdir())


def test_concurrent_updates_all_land(tmp_path: Path) -> None:
    """Forty threads each add one lexicon entry through the door: every one is kept."""
    show = copy_show(tmp_path / "show")
    (show / "lexicon.toml").write_text('# mine\n[zh-CN]\n"H20" = "H二十"\n', encoding="utf-8")
    ws = load_workspace(show)
    barrier = threading.Barrier(40)

    def add(n: int) -> None:
        barrier.wait()
        add_lexicon_entries(ws.files, show / "lexicon.toml",
                            [Addition(("zh-CN",), f"W{n}", f"说{n}")])

    threads = [threading.Thread(target=add, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = tomllib.loads((show / "lexicon.toml").read_text(encoding="utf-8"))
    assert {f"W{n}" for n in range(40)} <= set(data["zh-CN"])
    assert data["zh-CN"]["H20"] == "H二十"
    assert (show / "lexicon.toml").read_text(encoding="utf-8").startswith("# mine\n[zh-CN]\n")


# ---------------------------------------------------------------- the studio's saves


def test_concurrent_lexicon_saves_through_the_studio_keep_every_entry(show: Path) -> None:
    async def body(client: TestClient) -> list[Any]:
        answers = await asyncio.gather(*(post(client, "/api/lexicon", {
            "name": MANDARIN, "save": True, "written": f"词{n}", "spoken": f"读{n}",
            "language": "zh-CN"}) for n in range(20)))
        return [answer.status for answer in answers]

    statuses = with_client(show, body)
    assert statuses == [200] * 20
    data = tomllib.loads((show / "lexicon.toml").read_text(encoding="utf-8"))
    assert {f"词{n}" for n in range(20)} <= set(data["zh-CN"])
    entries = {e.written for e in load_show_lexicon(show)}
    assert {f"词{n}" for n in range(20)} <= entries


def test_concurrent_script_saves_one_lands_and_the_others_are_told(show: Path) -> None:
    """N editors opened the same version and save at once: one save lands, each other is
    refused with 409 (its text stays in its editor); none is silently lost."""
    path = show / "scripts" / MANDARIN
    opened = path.read_text(encoding="utf-8")

    async def body(client: TestClient) -> list[tuple[int, Any]]:
        sha = (await (await client.get("/api/script", params={"name": MANDARIN})).json())[
            "sha256"]
        answers = await asyncio.gather(*(post(client, "/api/save", {
            "name": MANDARIN, "text": opened.replace("芯片", f"芯片{n}", 1), "sha256": sha})
            for n in range(8)))
        return [(answer.status, await answer.json()) for answer in answers]

    answers = with_client(show, body)
    landed = [n for n, (status, _) in enumerate(answers) if status == 200]
    assert len(landed) == 1
    assert all(status == 409 and "changed on disk" in json["error"]
               for status, json in answers if status != 200)
    assert path.read_text(encoding="utf-8") == opened.replace("芯片", f"芯片{landed[0]}", 1)


def test_checking_as_the_producer_types_writes_nothing(show: Path) -> None:
    """The studio's check of unsaved text (a new title: a new slug to romanise) leaves the
    show's folder, its private cache included, as it was."""
    from conftest import tree_snapshot

    text = (show / "scripts" / MANDARIN).read_text(encoding="utf-8")
    edited = text.replace("title: ", "title: 全新的标题：", 1)
    before = tree_snapshot(show)

    async def body(client: TestClient) -> Any:
        return await (await post(client, "/api/check", {"name": MANDARIN,
                                                         "text": edited})).json()

    checked = with_client(show, body)
    assert checked["outline"]["slug"].startswith("2025-12-10-quan-xin-de-biao-ti")
    assert tree_snapshot(show) == before


# ---------------------------------------------------------------- one schema


def test_a_mistake_in_show_toml_names_the_line_the_parser_found_it_on(show: Path) -> None:
    toml = show / "show.toml"
    text = toml.read_text(encoding="utf-8")
    text += ('\n[[txt]]\ntext = """大家好，\n欢迎收听。\n[not a header]\nconcurrency = 1\n"""\n'
             '\n[[txt]]\ntext = "ok"\npurpose = """' + "x" * 200 + '"""\n')
    toml.write_text(text, encoding="utf-8")
    line = len(text.splitlines())
    with pytest.raises(InputError) as caught:
        load_workspace(show)
    assert caught.value.line == line and "txt[2].purpose" in str(caught.value)


def test_a_voice_profiles_stray_value_names_its_line(show: Path) -> None:
    profile = next((show / "voices").glob("*.toml"))
    lines = profile.read_text(encoding="utf-8").splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("speaker")) + 1
    lines.insert(at, 'louder = "yes"   # a value, not an [engine] table')
    profile.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_workspace(show)
    assert caught.value.path == profile and caught.value.line == at + 1


def test_the_keeper_reads_the_show_again_only_when_a_file_changed(show: Path) -> None:
    keeper = ShowKeeper(show)
    first = keeper.current()
    assert keeper.current() is first
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        first.show.title, "新的节目名"), encoding="utf-8")
    second = keeper.current()
    assert second is not first and second.show.title == "新的节目名"
    assert keeper.current() is second
    profile = next((show / "voices").glob("*.toml"))
    profile.write_text(profile.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert keeper.current() is not second


# ---------------------------------------------------------------- the first day


@pytest.mark.slow
@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
def test_init_then_the_printed_build_publishes_at_two_in_the_morning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    """At 02:00 UTC (10:00 in Beijing) a new show's first episode, and one made by
    ``duopod new`` without --date, are in the feed after the build ``init`` prints."""
    monkeypatch.setenv("TZ", zone)
    runner = CliRunner()
    two_am = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC).timestamp()  # keeps TZ as set
    with time_machine.travel(two_am, tick=True):
        made = runner.invoke(app, ["init", str(tmp_path / "mishow"), "--title", "芯闻",
                                   "--language", "zh-CN"])
        assert made.exit_code == 0, made.output
        assert "duopod build scripts/*.md" in made.output
        monkeypatch.chdir(tmp_path / "mishow")
        added = runner.invoke(app, ["new", "第二期"])
        assert added.exit_code == 0, added.output
        built = runner.invoke(app, ["build", *sorted(str(p) for p in Path("scripts").glob(
            "*.md")), "--engine", "espeak"])
    assert built.exit_code == 0, built.output
    assert "scheduled" not in built.output
    feed = (tmp_path / "mishow" / "episodes" / "feed.xml").read_text(encoding="utf-8")
    assert feed.count("<item>") == 2
    show = tomllib.loads((tmp_path / "mishow" / "show.toml").read_text(encoding="utf-8"))
    assert show["timezone"] == zone


@pytest.fixture
def show(tmp_path: Path) -> Path:
    from conftest import REPO

    root = copy_show(tmp_path / "show")
    (root / "lexicon.toml").write_text((REPO / "lexicon.toml").read_text(encoding="utf-8"),
                                       encoding="utf-8")
    return root
