"""A new show's first days (issue 27): what `duopod init` writes builds with every engine
installed, `auto` takes only an engine every host has a voice for, and `check` warns of
what a build would refuse or a listener would hear wrong."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import run_cli

from duopod.errors import InputError
from duopod.show.workspace import VoiceProfile, load_workspace
from duopod.speech.choice import engine_for_scripts
from duopod.speech.engines import choose_auto, registry
from duopod.speech.engines.espeak import voice_list as espeak_voices
from duopod.speech.engines.kokoro_model import voice_names as kokoro_voices
from duopod.starter import create_show
from duopod.store.record import EpisodeRecord

ZH_HOSTS = ("雷总", "董小姐")


def _new_show(tmp_path: Path, language: str = "zh-CN",
              hosts: tuple[str, ...] = ZH_HOSTS) -> Path:
    return create_show(tmp_path / "s", title="T", language=language, hosts=hosts,
                       today=dt.date(2025, 12, 10)).folder


@pytest.mark.parametrize("language, hosts", [("zh-CN", ZH_HOSTS), ("en-US", ("A", "B"))])
def test_init_writes_a_checked_voice_for_every_engine_auto_may_choose(
        tmp_path: Path, language: str, hosts: tuple[str, ...]) -> None:
    ws = load_workspace(_new_show(tmp_path, language, hosts))
    auto_engines = [s for s in registry().values() if s.auto_rank is not None]
    for profile in ws.profiles.values():
        for spec in auto_engines:
            assert spec.name in profile.engines, (profile.name, spec.name)
            assert spec.settings is not None
            spec.settings(profile)  # the engine's own check, as a build runs it
        assert profile.engines["kokoro"]["voice"] in kokoro_voices()
        assert profile.engines["kokoro"]["voice"][:1] == ("z" if language == "zh-CN" else "a")
        espeak = {v.name for v in espeak_voices()}
        assert profile.engines["espeak"]["voice"] in espeak
    text = next(iter(ws.profiles.values())).path.read_text(encoding="utf-8")
    assert "# [openai]" in text  # written, off until the producer opts in


def _profile(tmp_path: Path, host: str, engines: dict[str, dict[str, object]]) -> VoiceProfile:
    return VoiceProfile(host, host, tmp_path / f"{host}.toml", engines)


def test_auto_passes_over_an_engine_a_host_has_no_voice_for_and_says_why(
        tmp_path: Path) -> None:
    profiles = {"甲": _profile(tmp_path, "甲", {"espeak": {"voice": "cmn"},
                                               "kokoro": {"voice": "zm_yunxi"}}),
                "乙": _profile(tmp_path, "乙", {"espeak": {"voice": "cmn"}})}
    notices: list[str] = []
    assert choose_auto(notices.append, profiles) == "espeak"
    assert any("kokoro: no [kokoro] voice for host '乙'" in n for n in notices), notices


def test_auto_refuses_when_no_engine_has_every_host(tmp_path: Path) -> None:
    profiles = {"甲": _profile(tmp_path, "甲", {"kokoro": {"voice": "zm_yunxi"}}),
                "乙": _profile(tmp_path, "乙", {"espeak": {"voice": "cmn"}})}
    with pytest.raises(InputError, match="no speech engine can run here"):
        choose_auto(None, profiles)


def test_engine_for_scripts_refuses_a_named_engine_a_host_lacks(tmp_path: Path) -> None:
    from duopod.script.parse import parse_script

    folder = _new_show(tmp_path)
    voice = folder / "voices" / "dong-xiao-jie.toml"
    text = voice.read_text(encoding="utf-8")
    voice.write_text(text[:text.index("[kokoro]")] + text[text.index("[espeak]"):],
                     encoding="utf-8")
    ws = load_workspace(folder)
    (path,) = (folder / "scripts").glob("*.md")
    script = parse_script(path, workspace=folder, known_hosts=tuple(ws.profiles))
    with pytest.raises(InputError, match=r"has no \[kokoro\] voice"):
        engine_for_scripts(ws, [script], "kokoro")
    assert engine_for_scripts(ws, [script], "espeak") == "espeak"
    assert engine_for_scripts(ws, [script], "auto") in ("edge", "espeak")


def test_check_engine_refuses_what_build_with_that_engine_would(tmp_path: Path) -> None:
    folder = _new_show(tmp_path)
    voice = folder / "voices" / "lei-zong.toml"
    text = voice.read_text(encoding="utf-8")
    voice.write_text(text[:text.index("[kokoro]")] + text[text.index("[espeak]"):],
                     encoding="utf-8")
    (script,) = (folder / "scripts").glob("*.md")
    done = run_cli(folder, "check", str(script), "--engine", "kokoro")
    assert done.returncode == 2
    assert "voice profile 'lei-zong' (host '雷总') has no [kokoro] voice" in done.stderr
    assert "lei-zong.toml" in done.stderr
    done = run_cli(folder, "check", str(script), "--engine", "espeak")
    assert done.returncode == 0, done.stderr
    assert "engine    espeak" in done.stdout


ONE_OFF = """---
title: 一期
date: 2025-12-10
---
雷总
大家好，今天聊芯片。
董小姐
我先说背景。
王老师
我补充一句，这个很重要。
雷总
好，谢谢。
董小姐
下期见。
"""


def test_a_one_off_speaker_is_a_parse_warning_and_a_build_error(tmp_path: Path) -> None:
    from duopod.script.parse import parse_script, refuse_one_off_speakers

    path = tmp_path / "a.md"
    path.write_text(ONE_OFF, encoding="utf-8")
    script = parse_script(path)
    assert script.hosts == ("雷总", "董小姐")
    (speaker,) = script.one_off_speakers
    assert (speaker.name, speaker.line, speaker.host) == ("王老师", 9, "董小姐")
    with pytest.raises(InputError, match="王老师") as caught:
        refuse_one_off_speakers(script)
    assert caught.value.line == 9
    settled = path.with_name("b.md")
    settled.write_text(ONE_OFF.replace("date: 2025-12-10\n",
                                       "date: 2025-12-10\nhosts: [雷总, 董小姐]\n"),
                       encoding="utf-8")
    assert parse_script(settled).one_off_speakers == ()


def test_check_warns_of_a_one_off_speaker(tmp_path: Path) -> None:
    folder = _new_show(tmp_path)
    for old in (folder / "scripts").glob("*.md"):
        old.unlink()
    (folder / "scripts" / "a.md").write_text(ONE_OFF, encoding="utf-8")
    done = run_cli(folder, "check", "scripts/a.md")
    assert done.returncode == 0, done.stderr
    assert "warning   line 9: '王老师' stands alone like a speaker's name" in done.stdout


def test_the_starter_cover_is_known_as_a_placeholder() -> None:
    import hashlib

    from duopod.show.placeholders import STARTER_COVER_SHA256
    from duopod.starter.cover import cover_png

    assert hashlib.sha256(cover_png()).hexdigest() == STARTER_COVER_SHA256


def test_show_placeholders_finds_what_init_left(tmp_path: Path) -> None:
    from duopod.show.placeholders import show_placeholders

    ws = load_workspace(_new_show(tmp_path))
    assert [p.field for p in show_placeholders(ws.show, ws.root)] == ["base_url", "email",
                                                                       "cover"]
    toml = ws.root / "show.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("https://podcast.example.com", "https://pod.real.cn")
                    .replace("producer@example.com", "me@real.cn"), encoding="utf-8")
    ws = load_workspace(ws.root)
    assert [p.field for p in show_placeholders(ws.show, ws.root)] == ["cover"]


def test_publishing_placeholders_warns_and_zh_pages_speak_chinese(tmp_path: Path) -> None:
    folder = _new_show(tmp_path)
    (script,) = (folder / "scripts").glob("*.md")
    text = script.read_text(encoding="utf-8")
    script.write_text(text.replace("hosts:", "source:\n  provider: 路透社\n  url: "
                                   "https://example.org/a\nhosts:"), encoding="utf-8")
    done = run_cli(folder, "build", str(script), "--engine", "espeak")
    assert done.returncode == 0, done.stderr
    for field in ("base_url", "email", "cover", "summary"):
        assert f"published to the feed with a placeholder: {field}" in done.stderr, field
    assert "show.toml" in done.stderr
    (page,) = (folder / "episodes").glob("*/index.html")
    html = page.read_text(encoding="utf-8")
    assert "到路透社阅读原文" in html and "Read the original" not in html
    draft = script.with_name("draft.md")
    draft.write_text(text.replace("hosts:", "status: draft\nslug: d\nhosts:"),
                     encoding="utf-8")
    done = run_cli(folder, "build", str(draft), "--engine", "espeak")
    assert done.returncode == 0, done.stderr
    assert "placeholder" not in done.stderr


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_init_writes_a_starter_lexicon_that_loads(tmp_path: Path, language: str) -> None:
    from duopod.speech.lexicon import load_show_lexicon, speller

    ws = load_workspace(_new_show(tmp_path, language, ("A", "B")))
    entries = load_show_lexicon(ws.root)
    spell = speller(entries, language, "kokoro")
    if language == "zh-CN":
        assert spell.say("先说H20，再说H200和DeepSeek的GPU。") == \
            "先说H二十，再说H两百和深度求索的G P U。"
    else:
        assert spell.say("a GPU") == "a G P U"


def test_check_suggests_entries_for_latin_tokens_no_entry_covers(tmp_path: Path) -> None:
    folder = _new_show(tmp_path)
    (script,) = (folder / "scripts").glob("*.md")
    text = script.read_text(encoding="utf-8")
    script.write_text(text.replace("先说说发生了什么。", "先说H20和RTX，RTX 5090，还有Blackwell。"),
                      encoding="utf-8")
    done = run_cli(folder, "check", str(script))
    assert done.returncode == 0, done.stderr
    suggested = [line for line in done.stdout.splitlines() if "lexicon?" in line]
    assert suggested[0].startswith("  lexicon?  'RTX' ×2 is spelled letter by letter")
    assert '"RTX" = "…"' in suggested[0] and "[zh-CN]" in suggested[0]
    assert any("'Blackwell' ×1 is read as an English word" in s for s in suggested)
    assert not any("H20" in s for s in suggested)  # the starter lexicon covers it


# ---------------------------------------------------------------- identity for life


def _record(guid: str, day: int, number: int, script: str, *, status: str = "published",
            season: int | None = None) -> EpisodeRecord:
    from dataclasses import replace

    sample = Path(__file__).parent / "data" / "episode-v1.json"
    base = EpisodeRecord.from_json(sample.read_text(encoding="utf-8"), light=True)
    when = dt.datetime(2025, 1, day, 6, tzinfo=dt.UTC)
    return replace(base, guid=guid, slug=guid, script=script, number=number, status=status,
                   published=when, date=when.date(), season=season)


NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def test_numbers_follow_publication_not_build_order_and_skip_drafts() -> None:
    from duopod.store.numbering import UNNUMBERED, effective_numbers, number_for

    scheduled = _record("s", 20, UNNUMBERED, "s.md")  # due by NOW: built first, unnumbered
    a = _record("a", 10, 1, "a.md")
    draft = _record("d", 30, UNNUMBERED, "d.md", status="draft")
    numbers = effective_numbers([scheduled, a, draft], NOW)
    assert numbers == {"a": 1, "s": 2, "d": UNNUMBERED}
    new = _record("n", 25, UNNUMBERED, "n.md")
    assert number_for(new, None, None, [scheduled, a, draft], NOW) == 3
    assert number_for(draft, draft, None, [scheduled, a], NOW) == UNNUMBERED
    early = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)  # the scheduled one is not due yet
    today = _record("t", 12, UNNUMBERED, "t.md")
    assert number_for(today, None, None, [scheduled, a], early) == 2
    assert number_for(later := _record("l", 30, UNNUMBERED, "l.md"), None, None,
                      [scheduled, a], early) == UNNUMBERED  # not due: no number yet
    assert later.number == UNNUMBERED


def test_an_unpublished_episode_keeps_its_number_reserved() -> None:
    """Issue 28.6: build A (1), B (2), unpublish B, build C, rebuild B: no two episode 2."""
    from duopod.store.numbering import number_for

    a, b = _record("a", 1, 1, "a.md"), _record("b", 2, 2, "b.md")
    c = _record("c", 3, 0, "c.md")
    assert number_for(c, None, None, [a, b], NOW) == 3  # b, unpublished, still holds 2
    assert number_for(b, b, None, [a, _record("c", 3, 3, "c.md")], NOW) == 2


def test_seasons_number_apart_and_explicit_numbers_win() -> None:
    from duopod.store.numbering import number_for

    one = [_record("a", 1, 1, "a.md", season=1), _record("b", 2, 2, "b.md", season=1)]
    s2 = _record("c", 3, 0, "c.md", season=2)
    assert number_for(s2, None, None, one, NOW) == 1
    assert number_for(s2, None, 7, one, NOW) == 7


def test_a_new_script_never_inherits_an_unpublished_guid() -> None:
    """Issue 28.7: same title and date (so slug) as an unpublished episode: a new GUID."""
    import uuid

    from duopod.store.numbering import new_guid

    base = "https://pod.example.cn"
    old = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/2025-10-01-jie-mu-a/"))
    assert new_guid(base, "2025-10-01-jie-mu-a", []) == old
    unpublished = _record(old, 1, 1, "old.md")
    assert new_guid(base, "2025-10-01-jie-mu-a", [unpublished]) != old


def _episode(folder: Path, name: str, day: str, extra: str = "") -> Path:
    path = folder / "scripts" / f"{name}.md"
    path.write_text(f"---\ntitle: 节目{name}\ndate: 2025-10-{day}\nslug: {name}\n"
                    f"summary: 第{name}期。\nhosts: [雷总, 董小姐]\ncategory: Tech\n{extra}---\n"
                    "雷总\n今天聊芯片。\n董小姐\n好的，芯片。\n", encoding="utf-8")
    return path


def _build(folder: Path, path: Path) -> None:
    done = run_cli(folder, "build", str(path), "--engine", "espeak")
    assert done.returncode == 0, done.stderr


def _numbers(folder: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET

    from duopod.site.feed import NAMESPACES

    root = ET.parse(folder / "episodes" / "feed.xml").getroot()
    return {item.findtext("title", "").removeprefix("节目"):
            item.findtext(f"{{{NAMESPACES['itunes']}}}episode", "")
            for item in root.iter("item")}


@pytest.mark.slow
def test_a_shows_life_numbers_guids_and_links(tmp_path: Path) -> None:
    import json

    folder = _new_show(tmp_path)
    for old in (folder / "scripts").glob("*.md"):
        old.unlink()
    _build(folder, _episode(folder, "a", "01"))
    draft = _episode(folder, "d", "20", "status: draft\n")
    _build(folder, draft)  # a draft dated later than what follows
    _build(folder, b := _episode(folder, "b", "02"))
    assert run_cli(folder, "unpublish", "b").returncode == 0
    _build(folder, _episode(folder, "c", "03"))
    _build(folder, b)
    numbers = _numbers(folder)
    assert sorted(numbers.values()) == ["1", "2", "3"], numbers  # unique; the draft took none
    assert numbers["b"] == "2" and numbers["c"] == "3"
    page = (folder / "episodes" / "c" / "index.html").read_text(encoding="utf-8")
    assert "../d/" not in page  # the draft is linked from nothing public
    assert not (folder / "episodes" / "d").exists()  # nor deployed (issue 27.4)
    record = json.loads((folder / ".duopod" / "pending" / "d" / "episode.json")
                        .read_text("utf-8"))
    assert record["episode"] == 0
    _build(folder, _episode(folder, "s2", "04", "season: 2\nepisode: 1\n"))
    # 28.7: a new script under an unpublished episode's slug gets a new GUID
    old_guid = json.loads((folder / "episodes" / "c" / "episode.json")
                          .read_text("utf-8"))["guid"]
    assert run_cli(folder, "unpublish", "c").returncode == 0
    other = folder / "scripts" / "c2.md"
    other.write_text((folder / "scripts" / "c.md").read_text(encoding="utf-8"),
                     encoding="utf-8")
    (folder / "scripts" / "c.md").unlink()
    _build(folder, other)
    new_guid = json.loads((folder / "episodes" / "c" / "episode.json")
                          .read_text("utf-8"))["guid"]
    assert new_guid != old_guid


@pytest.mark.slow
def test_the_show_guid_survives_losing_the_feed_after_a_move(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from duopod.site.feed import NAMESPACES

    folder = _new_show(tmp_path)
    (script,) = (folder / "scripts").glob("*.md")
    _build(folder, script)

    def guid() -> str:
        root = ET.parse(folder / "episodes" / "feed.xml").getroot()
        return root.findtext(f"channel/{{{NAMESPACES['podcast']}}}guid") or ""

    first = guid()
    toml = folder / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "https://podcast.example.com", "https://moved.example.org"), encoding="utf-8")
    (folder / "episodes" / "feed.xml").unlink()
    assert run_cli(folder, "publish").returncode == 0
    assert guid() == first
