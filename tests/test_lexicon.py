"""The pronunciation lexicon: matching, precedence, errors, and what it does to a build."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from conftest import MANDARIN, REPO

from duopod.build import BuildOptions, build_episode, load_script
from duopod.errors import InputError
from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace
from duopod.speech.engines import get_engine
from duopod.speech.lexicon import (
    SCRIPT,
    SHOW,
    Entry,
    load_show_lexicon,
    script_entries,
    script_speller,
    speller,
)
from duopod.speech.render import TurnEvent, render_turns_async

HERE = Path("lexicon.toml")


def entry(written: str, spoken: str, language: str | None = None, engine: str | None = None,
          source: int = SHOW) -> Entry:
    return Entry(written, spoken, language, engine, source, HERE, 1)


def write_lexicon(show: Path, text: str) -> Path:
    path = show / "lexicon.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- matching


def test_latin_entries_match_whole_words_only() -> None:
    spell = speller([entry("H20", "H二十"), entry("B", "币")], "zh-CN", "espeak")
    assert spell.say("H20和H200不一样，H20的算力") == "H二十和H200不一样，H二十的算力"
    assert spell.say("AH20 H20x 2H20 H20-B") == "AH20 H20x 2H20 H二十-币"


def test_longest_match_first() -> None:
    spell = speller([entry("DeepSeek", "深度求索"), entry("DeepSeek-R1", "深度求索R一"),
                     entry("H200", "H两百"), entry("H20", "H二十")], "zh-CN", None)
    assert spell.say("DeepSeek-R1和DeepSeek-V3，H200") == "深度求索R一和深度求索-V3，H两百"


def test_chinese_entries_match_inside_words() -> None:
    spell = speller([entry("长期", "常期")], "zh-CN", None)
    assert spell.say("但长期看，长期主义") == "但常期看，常期主义"


def test_replacements_are_not_applied_twice() -> None:
    spell = speller([entry("A", "B"), entry("B", "C")], "en", None)
    assert spell.say("A B") == "B C"


def test_engine_over_language_over_global_and_script_over_show() -> None:
    entries = [
        entry("671B", "六七一B (global)"),
        entry("671B", "六七一B (zh)", "zh"),
        entry("671B", "六七一B (zh-CN)", "zh-CN"),
        entry("671B", "六七一B (espeak)", "zh-CN", "espeak"),
    ]
    assert speller(entries, "zh-CN", "espeak").say("671B") == "六七一B (espeak)"
    assert speller(entries, "zh-CN", "edge").say("671B") == "六七一B (zh-CN)"
    assert speller(entries, "zh-TW", "edge").say("671B") == "六七一B (zh)"
    assert speller(entries, "en-US", "espeak").say("671B") == "六七一B (global)"
    assert speller(entries, "zh-CN", None).say("671B") == "六七一B (zh-CN)"
    script = [*entries, entry("671B", "script says", source=SCRIPT)]
    assert speller(script, "zh-CN", "espeak").say("671B") == "script says"


def test_hits_count_each_entry() -> None:
    spell = speller([entry("H20", "H二十"), entry("H200", "H两百")], "zh-CN", None)
    hits = spell.hits(["H20和H200", "H20"])
    assert {e.written: n for e, n in hits.items()} == {"H20": 2, "H200": 1}


def test_no_entries_changes_nothing() -> None:
    spell = speller([entry("H20", "x", "en")], "zh-CN", None)
    assert not spell and spell.say("H20") == "H20"


# ---------------------------------------------------------------- reading and errors


def test_the_example_show_lexicon_loads(tmp_path: Path) -> None:
    entries = load_show_lexicon(REPO)
    found = {(e.scope, e.written): e.spoken for e in entries}
    assert found[("", "DeepSeek")] == "深度求索"
    assert found[("zh-CN", "H20")] == "H二十"
    assert found[("zh-CN.espeak", "671B")] == "六七一B"
    assert all(e.line for e in entries)
    assert load_show_lexicon(tmp_path) == ()  # optional


@pytest.mark.parametrize(("text", "line", "message"), [
    ('"H20" = "H二十"\n"H200" = \n', 2, "invalid TOML"),
    ('"H20" = "H二十"\n[zh-CN]\n"H200" = 200\n', 3, "must be a string"),
    ('[zh-CN]\n"a" = "b"\n"" = "空"\n', 3, "empty word"),
    ('[zh-CN]\n"H20" = "  "\n', 2, "empty spoken form"),
    ('"ok" = "ok"\n[espeak]\n"671B" = "x"\n', 2, "not a language tag"),
    ('[zh-CN]\n"a" = "b"\n[zh-CN.espek]\n"671B" = "x"\n', 3, "not an engine"),
    ('[zh-CN.espeak]\n"x" = "y"\n\n"671B" = ["x"]\n', 4, "must be a string"),
])
def test_bad_lexicon_files_are_one_line_errors(show: Path, text: str, line: int,
                                               message: str) -> None:
    path = write_lexicon(show, text)
    with pytest.raises(InputError) as caught:
        load_show_lexicon(show)
    assert caught.value.path == path and caught.value.line == line
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_front_matter_lexicon(tmp_path: Path) -> None:
    script = tmp_path / "s.md"
    script.write_text("---\ntitle: T\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\nlexicon:\n  H20: H二十\n  zh-CN:\n"
                      "    espeak:\n      671B: 六七一B\n---\n雷总\nH20。\n董小姐\n好。\n",
                      encoding="utf-8")
    found = {(e.scope, e.written, e.spoken, e.line, e.source)
             for e in script_entries(parse_script(script))}
    assert found == {("", "H20", "H二十", 6, SCRIPT), ("zh-CN.espeak", "671B", "六七一B", 9, SCRIPT)}


def test_language_tables_follow_the_episodes_language(show: Path) -> None:
    shutil.copy(REPO / "lexicon.toml", show / "lexicon.toml")
    script = show / "scripts" / "en.md"
    script.write_text("---\ntitle: T\ndate: 2025-12-10\nlanguage: en-US\nhosts: [雷总, 董小姐]\n"
                      "lexicon:\n  en:\n    H20: H twenty\n---\n雷总\nH20 and DeepSeek.\n"
                      "董小姐\nOK.\n", encoding="utf-8")
    ws = load_workspace(show)
    parsed = load_script(ws, script, BuildOptions())
    spell = script_speller(ws, parsed, "espeak")
    assert spell.say("H20 and DeepSeek, 671B.") == "H twenty and 深度求索, 671B."
    mandarin = load_script(ws, show / "scripts" / MANDARIN, BuildOptions())
    assert script_speller(ws, mandarin, "espeak").say("H20, 671B") == "H二十, 六七一B"


@pytest.mark.parametrize(("block", "line", "message"), [
    ("lexicon:\n  H20: [a, b]\n", 6, "must be a string"),
    ("lexicon:\n  H20: ''\n", 6, "empty spoken form"),
    ("lexicon: H20\n", 5, "must be a block"),
    ("lexicon:\n  zh-CN:\n    edge:\n      x:\n        y: z\n", 8, "too deep"),
])
def test_bad_front_matter_lexicon(tmp_path: Path, block: str, line: int, message: str) -> None:
    script = tmp_path / "s.md"
    script.write_text(f"---\ntitle: T\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\n{block}---\n雷总\nH20。\n董小姐\n好。\n",
                      encoding="utf-8")
    with pytest.raises(InputError) as caught:
        script_entries(parse_script(script))
    assert caught.value.line == line and message in str(caught.value)


# ---------------------------------------------------------------- in a build


def render_events(show: Path) -> list[TurnEvent]:
    ws = load_workspace(show)
    script = load_script(ws, show / "scripts" / MANDARIN, BuildOptions())
    engine = get_engine("espeak")
    spell = script_speller(ws, script, "espeak")
    events: list[TurnEvent] = []
    asyncio.run(render_turns_async(script, ws, engine, progress=events.append,
                                   spoken=spell.say if spell else None))
    return events


def statuses(events: list[TurnEvent]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {"done": set(), "cached": set()}
    for event in events:
        if event.status in found:
            found[event.status].add(event.turn.index)
    return found


def test_changing_an_entry_rerenders_exactly_the_turns_it_touches(show: Path) -> None:
    shutil.copy(REPO / "lexicon.toml", show / "lexicon.toml")
    ws = load_workspace(show)
    script = load_script(ws, show / "scripts" / MANDARIN, BuildOptions())
    first = statuses(render_events(show))
    assert len(first["done"]) == len(script.turns) and not first["cached"]
    assert statuses(render_events(show))["cached"] == set(range(len(script.turns)))
    lexicon = show / "lexicon.toml"
    lexicon.write_text(lexicon.read_text(encoding="utf-8").replace('"H二十"', '"H二零"'),
                       encoding="utf-8")
    touched = {t.index for t in script.turns
               if any(w in t.text.replace("H200", "") for w in ("H20",))}
    assert touched
    again = statuses(render_events(show))
    assert again["done"] == touched
    assert again["cached"] == set(range(len(script.turns))) - touched


@pytest.mark.slow
def test_published_words_stay_the_scripts(show: Path) -> None:
    shutil.copy(REPO / "lexicon.toml", show / "lexicon.toml")
    result = build_episode(load_workspace(show), show / "scripts" / MANDARIN,
                           BuildOptions(engine="espeak"))
    record = json.loads((result.directory / "episode.json").read_text(encoding="utf-8"))
    said = [s["text"] for t in record["timeline"]["turns"] for s in t["sentences"]]
    written = "".join(said)
    assert "H20的算力" in written and "DeepSeek-R1 671B" in written
    assert "H二十" not in written and "深度求索" not in written
    for name in ("transcript.vtt", "index.html"):
        text = (result.directory / name).read_text(encoding="utf-8")
        assert "DeepSeek-R1" in text and "深度求索" not in text and "H二十" not in text
    sentences = [s for t in record["timeline"]["turns"] for s in t["sentences"]]
    assert all(s["end"] >= s["start"] for s in sentences)


# ---------------------------------------------------------------- check and say


def test_say_renders_one_line_through_the_lexicon(show: Path) -> None:
    import wave

    from duopod.speech.say import say_line

    shutil.copy(REPO / "lexicon.toml", show / "lexicon.toml")
    out = show / "out" / "say.wav"
    said = say_line(load_workspace(show), "H20和H200不是一回事。DeepSeek的671B！", "雷总",
                    get_engine("espeak"), out)
    assert said.written == ["H20和H200不是一回事。", "DeepSeek的671B！"]
    assert said.spoken == ["H二十和H两百不是一回事。", "深度求索的六七一B！"]
    assert {e.written: n for e, n in said.hits.items()} == {
        "H20": 1, "H200": 1, "DeepSeek": 1, "671B": 1}
    with wave.open(str(out)) as audio:
        assert audio.getframerate() == 44_100 and audio.getnframes() > 44_100
    with pytest.raises(InputError, match=r"--out must end in \.wav or \.mp3"):
        say_line(load_workspace(show), "好。", "雷总", get_engine("espeak"), show / "x.ogg")


@pytest.mark.slow
def test_check_lists_the_hits_and_say_writes_an_mp3(show: Path) -> None:
    from conftest import run_cli

    shutil.copy(REPO / "lexicon.toml", show / "lexicon.toml")
    result = run_cli(show, "check", f"scripts/{MANDARIN}")
    assert result.returncode == 0, result.stderr
    assert "lexicon   H20 → H二十 ×3 [zh-CN]  (lexicon.toml:10)" in result.stdout
    assert "lexicon   H200 → H两百 ×6 [zh-CN]" in result.stdout
    assert "lexicon   671B → 六七一B ×2 [zh-CN.espeak]" in result.stdout
    assert "DeepSeek → 深度求索 ×1  (lexicon.toml:7)" in result.stdout
    result = run_cli(show, "say", "H20来了。", "--host", "董小姐", "--engine", "espeak",
                     "--out", "fix.mp3")
    assert result.returncode == 0, result.stderr
    assert "said as: H二十来了。" in result.stdout
    assert (show / "fix.mp3").read_bytes()[:3] == b"ID3" and (show / "fix.mp3").stat().st_size > 5000
    (show / "lexicon.toml").write_text('[zh-CN]\n"H20" = 20\n', encoding="utf-8")
    result = run_cli(show, "check", f"scripts/{MANDARIN}")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("lexicon.toml:2: lexicon entry 'H20' in [zh-CN] must "
                                          "be a string (the spoken form), not int")


def test_a_large_lexicon_loads_and_speaks_in_linear_time(tmp_path: Path) -> None:
    """Issue 28 item 8: line lookup scanned every row per key and the alternation tried
    every entry at each character (4,000 entries: 3.5 s to load, 21 s for 4,000 lines)."""
    import sys
    import time

    sys.path.insert(0, str(REPO / "benchmarks"))
    from _lexicon import measure

    started = time.perf_counter()
    measure(tmp_path, 4_000, 4_000)
    assert time.perf_counter() - started < 3


def test_matching_keeps_longest_first_and_word_boundaries(tmp_path: Path) -> None:
    (tmp_path / "lexicon.toml").write_text(
        '"H20" = "H二十"\n"H200" = "H两百"\n"AI" = "人工智能"\n"英伟达" = "NVIDIA"\n'
        "[zh-CN]\n'671B' = \"六七一B\"\nbare = \"光\"\n", encoding="utf-8")
    found = load_show_lexicon(tmp_path)
    assert {e.written: e.line for e in found} == {"H20": 1, "H200": 2, "AI": 3, "英伟达": 4,
                                                   "671B": 6, "bare": 7}
    spell = speller(found, "zh-CN", None)
    assert spell.say("H200和H20，AIGC不是AI，英伟达的671B") == \
        "H两百和H二十，AIGC不是人工智能，NVIDIA的六七一B"
    assert spell.say("H2000 xH20") == "H2000 xH20"
    assert sum(spell.hits(["H20 H20 H200"]).values()) == 3
