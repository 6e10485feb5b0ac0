"""``duopod verify`` (issue 26.5): what a listener heard against the script. The fast tests
hold the comparison (CER by sound, misheard terms, suggested lexicon lines, the lexicon
edit of --fix) and the episode walk with a stand-in ear on a real MP3; the slow one builds
a short Mandarin episode with espeak, hears it with Whisper-base from PyPI and fixes it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from duopod.clip import ffmpeg_exe
from duopod.errors import InputError
from duopod.mix.timeline import Timeline, TimelineTurn
from duopod.show.workspace import load_workspace
from duopod.speech.model import SentenceSpan
from duopod.store.record import AudioFile, EpisodeRecord
from duopod.verify import (
    LexiconLine,
    add_to_lexicon,
    missing,
    report_path,
    verify_episode,
)
from duopod.verify.heard import (
    cer,
    chinese_numerals_to_digits,
    compare,
    edit_distance,
    sounds,
    terms,
)
from duopod.verify.suggest import respelled


def same(text: str) -> str:
    return text


# --- the comparison ------------------------------------------------------------------


def test_chinese_numerals_read_as_digits() -> None:
    assert chinese_numerals_to_digits("H二十和H两百") == "H20和H200"
    assert chinese_numerals_to_digits("六七一B，一百零五，三万五千") == "671B，105，35000"
    assert chinese_numerals_to_digits("十五") == "15"


def test_cer_counts_characters_and_caps_at_one() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert cer("今天我们聊一聊。", "今天我们聊一聊") == 0.0  # punctuation is not judged
    assert cer("H20是关键", "h２０是关键", "zh-CN") == 0.0  # case and full width neither
    assert cer("H20是关键", "H二十是关键", "zh-CN") == 0.0  # 二十 is what 20 sounds like
    assert cer("芯片", "芯片" + "很长的幻觉" * 10, "zh-CN") == 1.0
    assert cer("abcd", "abxd", "en-US") == 0.25


def test_chinese_is_compared_by_sound_not_by_character() -> None:
    """Whisper's homophones (英伟大 for 英伟达) were heard right; a different sound is not."""
    assert sounds("英伟达H20", "zh-CN") == ["ying", "wei", "da", "h", "2", "0"]
    assert cer("英伟达的芯片", "英伟大的芯片", "zh-CN") == 0.0
    assert cer("英伟达的芯片", "英伟大的芯片", "en-US") > 0  # by character elsewhere
    assert cer("它的算力", "刷的算力", "zh-CN") == 0.25


def test_terms_are_codes_and_english_words() -> None:
    assert terms("英伟达的H20和DeepSeek-R1，还有671B，2025年。", "zh-CN") == [
        "H20", "DeepSeek-R1", "671B"]
    assert terms("The H20 and the GPU market, says DeepSeek.", "en-US") == [
        "H20", "GPU", "DeepSeek"]


def test_a_term_heard_as_something_else_is_misheard() -> None:
    """kokoro says "H20" so that Whisper hears "A20"; a term said as the lexicon asks
    ("DeepSeek" as 深度求索) and heard so was heard, in characters or homophones."""
    hearing = compare("对，H20是专门为中国市场设计的。", "对A20是专门为中国市场设计的",
                      "zh-CN", same)
    assert hearing.misheard == ("H20",)
    assert hearing.cer < 0.1  # one letter in a long sentence: CER alone would miss it
    lexicon = {"DeepSeek": "深度求索", "H20": "艾尺二十"}

    def say(text: str) -> str:
        for written, spoken in lexicon.items():
            text = text.replace(written, spoken)
        return text

    assert compare("DeepSeek发布了新模型", "深度求索发布了新模型", "zh-CN", say).misheard == ()
    assert compare("英伟达的H20芯片", "英伟大的爱吃二十芯片", "zh-CN", say).misheard == ()
    assert compare("英伟达的H20芯片", "英伟达的H20芯片", "zh-CN", say).misheard == ()
    assert compare("DeepSeek发布了新模型", "第七发布了新模型", "zh-CN", say).misheard == (
        "DeepSeek",)


def test_suggested_spoken_forms() -> None:
    assert respelled("H20", "zh-CN") == "艾尺二十"
    assert respelled("H200", "zh-CN") == "艾尺两百"
    assert respelled("671B", "zh-CN") == "六七一比"
    assert respelled("GPU", "zh-CN") == "吉披优"
    assert respelled("DeepSeek-R1", "zh-CN") == "DeepSeek阿尔一"
    assert respelled("DeepSeek", "zh-CN") is None  # a name's Chinese form is the producer's
    assert respelled("H20", "en-US") == "H twenty"
    line = LexiconLine("H20", 'say "this"', "zh-CN", "kokoro")
    assert tomllib.loads(f"[{line.table}]\n{line.toml()}\n") == {
        "zh-CN": {"kokoro": {"H20": 'say "this"'}}}


# --- --fix: the lexicon edit -----------------------------------------------------------


LEXICON = """\
# the producer's comment stays
"DeepSeek" = "深度求索"

[zh-CN]
"H20" = "H二十"   # kept as written

[zh-CN.espeak]
"671B" = "六七一B"
"""


def test_fix_adds_lines_to_the_engine_table_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "lexicon.toml").write_text(LEXICON, encoding="utf-8")
    edit = add_to_lexicon(tmp_path, [LexiconLine("H20", "艾尺二十", "zh-CN", "kokoro"),
                                     LexiconLine("GPU", "吉披优", "zh-CN", "espeak")])
    text = (tmp_path / "lexicon.toml").read_text(encoding="utf-8")
    assert [line.term for line in edit.added] == ["H20", "GPU"]
    assert text.startswith(LEXICON.split("[zh-CN.espeak]")[0])  # comments, layout kept
    data = tomllib.loads(text)
    assert data["zh-CN"]["H20"] == "H二十"
    assert data["zh-CN"]["kokoro"] == {"H20": "艾尺二十"}
    assert data["zh-CN"]["espeak"] == {"671B": "六七一B", "GPU": "吉披优"}


def test_fix_never_replaces_an_entry_of_the_same_table(tmp_path: Path) -> None:
    (tmp_path / "lexicon.toml").write_text(LEXICON, encoding="utf-8")
    edit = add_to_lexicon(tmp_path, [LexiconLine("671B", "六百七十一B", "zh-CN", "espeak"),
                                     LexiconLine("DeepSeek", None, "zh-CN", "espeak")])
    assert edit.added == ()
    assert len(edit.kept) == 2
    assert (tmp_path / "lexicon.toml").read_text(encoding="utf-8") == LEXICON


def test_fix_refuses_a_lexicon_that_does_not_parse(tmp_path: Path) -> None:
    (tmp_path / "lexicon.toml").write_text('"H20 = \n', encoding="utf-8")
    with pytest.raises(InputError, match="invalid TOML"):
        add_to_lexicon(tmp_path, [LexiconLine("H20", "艾尺二十", "zh-CN", "kokoro")])


# --- the episode walk, with a stand-in ear -----------------------------------------------

SLUG = "2025-12-20-verify"
SENTENCES = (("雷总", "今天聊英伟达的H20芯片。", 0.5, 2.5),
             ("董小姐", "谢谢收听，我们下期再见。", 3.0, 5.0))


class ToneEar:
    """Hears a sentence by its pitch (each sentence's span in the MP3 is a tone of its
    own), so the test knows the audio was cut at the record's times."""

    def __init__(self, transcripts: dict[int, str]) -> None:
        self.transcripts = transcripts
        self.heard: list[float] = []

    def hear(self, samples: np.ndarray, language: str) -> str:
        assert language == "zh-CN"
        spectrum = np.abs(np.fft.rfft(samples))
        pitch = float(np.argmax(spectrum) * 16_000 / samples.size)
        self.heard.append(samples.size / 16_000)
        return self.transcripts[round(pitch / 100) * 100]


@pytest.fixture
def episode(show: Path) -> Path:
    folder = show / "episodes" / SLUG
    folder.mkdir(parents=True)
    graph = ("sine=f=400:d=5.5,volume='between(t,0.5,2.5)':eval=frame[a];"
             "sine=f=800:d=5.5,volume='between(t,3.0,5.0)':eval=frame[b];"
             "[a][b]amix=inputs=2:normalize=0[out]")
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-filter_complex", graph,
                    "-map", "[out]", "-c:a", "libmp3lame", "-b:a", "64k",
                    str(folder / "audio.mp3")], check=True)
    turns = tuple(TimelineTurn(i, host, text, None, start, end,
                               (SentenceSpan(text, start, end),))
                  for i, (host, text, start, end) in enumerate(SENTENCES))
    when = dt.datetime(2025, 12, 20, 6, tzinfo=dt.UTC)
    record = EpisodeRecord(
        guid="0c1b0a2-9a54-4d5e-9d39-1b3c1d1e0f01", slug=SLUG, script="scripts/gone.md",
        title="Verify", date=when.date(), published=when, number=1, hosts=("雷总", "董小姐"),
        language="zh-CN", duration=5.5,
        audio=AudioFile("audio.mp3", (folder / "audio.mp3").stat().st_size),
        engine="kokoro", description="d",
        timeline=Timeline(turns=turns, chapters=(), duration=5.5))
    (folder / "episode.json").write_text(record.to_json(), encoding="utf-8")
    (show / "lexicon.toml").write_text('[zh-CN]\n"H20" = "H二十"\n', encoding="utf-8")
    return show


def test_each_sentence_is_cut_at_its_times_and_the_report_kept_private(episode: Path) -> None:
    ws = load_workspace(episode)
    ear = ToneEar({400: "今天聊英伟大的A20芯片", 800: "谢谢收听,我们下期再见"})
    report = verify_episode(ws, SLUG, ear)
    assert [round(seconds, 2) for seconds in ear.heard] == [2.16, 2.16]  # span + 2 pads
    first, second = report.sentences
    assert (first.flagged, first.misheard, first.spoken) == (True, ("H20",), "今天聊英伟达的H二十芯片。")
    assert [line.toml() for line in first.suggestions] == ['"H20" = "艾尺二十"']
    assert first.suggestions[0].table == "zh-CN.kokoro"
    assert first.suggestions[0].current == "H二十"
    assert (second.flagged, second.cer) == (False, 0.0)
    assert (first.turn, second.turn) == (1, 2)  # numbered from 1, as everywhere
    assert report.exit_code == 1
    saved = json.loads(report_path(ws, SLUG).read_text(encoding="utf-8"))
    assert report_path(ws, SLUG).is_relative_to(ws.state_dir)  # never in the public site
    assert saved["flagged"] == 1
    assert saved["sentences"][0]["heard"] == "今天聊英伟大的A20芯片"
    assert sorted(p.name for p in (ws.episodes_dir / SLUG).iterdir()) == [
        "audio.mp3", "episode.json"]


def test_an_episode_heard_well_exits_zero(episode: Path) -> None:
    ear = ToneEar({400: "今天聊英伟达的H20芯片", 800: "谢谢收听我们下期再见"})
    assert verify_episode(load_workspace(episode), SLUG, ear).exit_code == 0


def test_verify_of_an_unknown_episode_is_bad_input(episode: Path) -> None:
    result = run_cli(episode, "verify", "no-such-episode")
    assert result.returncode == 2
    assert "no episode 'no-such-episode'" in result.stderr


# --- end to end: espeak speaks, Whisper-base listens ------------------------------------

SCRIPT = """\
---
title: H20测试
date: 2025-12-20
hosts: [雷总, 董小姐]
---
雷总
今天我们聊一聊英伟达的H20芯片。
董小姐
谢谢收听，我们下期再见。
"""


@pytest.mark.slow
@pytest.mark.skipif(missing() is not None, reason=f"the verify extra: {missing()}")
def test_build_verify_hears_h20_misread_and_fix_adds_the_entry(show: Path) -> None:
    (show / "scripts" / "2025-12-20-h20.md").write_text(SCRIPT, encoding="utf-8")
    built = run_cli(show, "build", "scripts/2025-12-20-h20.md", "--engine", "espeak",
                    "--verify")
    assert built.returncode == 1, built.stderr  # built, then a sentence was flagged
    slug = next(p.name for p in (show / "episodes").iterdir() if p.name.startswith("2025"))
    report = json.loads((show / ".duopod" / "verify" / f"{slug}.json").read_text("utf-8"))
    first = report["sentences"][0]
    assert first["said"] == "今天我们聊一聊英伟达的H20芯片。"
    assert first["heard"] and first["flagged"] and first["misheard"] == ["H20"]
    assert first["suggestions"][0]["toml"] == '"H20" = "艾尺二十"'
    assert "H20" in built.stdout and "艾尺二十" in built.stdout  # the table
    assert report["heard_seconds"] > 3

    fixed = run_cli(show, "verify", slug, "--fix", "--yes")
    assert fixed.returncode in (0, 1), fixed.stderr
    lexicon = tomllib.loads((show / "lexicon.toml").read_text(encoding="utf-8"))
    assert lexicon["zh-CN"]["espeak"]["H20"] == "艾尺二十"
    assert "(1 rendered, 1 cached)" in fixed.stdout  # only the turn with H20 again
    after = json.loads((show / ".duopod" / "verify" / f"{slug}.json").read_text("utf-8"))
    assert after["sentences"][0]["spoken"] == "今天我们聊一聊英伟达的艾尺二十芯片。"


def test_fix_without_a_terminal_needs_yes(episode: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from duopod.cli import verify as verify_cli

    report = verify_episode(load_workspace(episode), SLUG,
                            ToneEar({400: "今天聊英伟大的A20芯片", 800: "谢谢收听我们下期再见"}))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(InputError, match="give --yes"):
        verify_cli._accepted(report, yes=False)
    assert [line.term for line in verify_cli._accepted(report, yes=True)] == ["H20"]


def test_a_suggestion_keeps_the_lexicon_for_its_words(episode: Path) -> None:
    """"DeepSeek-R1" misheard where the lexicon says DeepSeek = 深度求索: the line to try
    keeps 深度求索 and respells only the code."""
    from duopod.speech.lexicon import lexicon_entries, speller
    from duopod.verify.episode import suggestions_for

    (episode / "lexicon.toml").write_text('"DeepSeek" = "深度求索"\n', encoding="utf-8")
    say = speller(lexicon_entries(load_workspace(episode)), "zh-CN", "kokoro")
    (line,) = suggestions_for(("DeepSeek-R1",), say, "zh-CN", "kokoro")
    assert (line.spoken, line.current) == ("深度求索阿尔一", "深度求索-R1")


def test_a_term_mostly_heard_right_gets_no_new_reading() -> None:
    """kokoro's "AI" was heard as AR once and right once: a new reading (诶艾) would put
    the good one at risk, so none is offered; H200, misheard every time, gets one."""
    from duopod.speech.lexicon import speller
    from duopod.verify.episode import suggestions_for, term_tally

    said = ["高端AI芯片和H200", "国产AI芯片", "H200回来了"]
    hearings = [compare(said[0], "高端AR芯片和A200", "zh-CN", same),
                compare(said[1], "国产AI芯片", "zh-CN", same),
                compare(said[2], "A200回来了", "zh-CN", same)]
    tally = term_tally(said, hearings, "zh-CN")
    assert tally == {"AI": (2, 1), "H200": (2, 2)}
    ai, h200 = suggestions_for(hearings[0].misheard, speller([], "zh-CN", "kokoro"), "zh-CN",
                               "kokoro", tally)
    assert (ai.term, ai.spoken, ai.note) == ("AI", None, "heard right 1 of 2 times")
    assert (h200.spoken, h200.note) == ("艾尺两百", "")
