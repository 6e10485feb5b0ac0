"""Turns that meet like a conversation (issue 37): gaps from the text, cut-offs overtaken,
backchannels laid under the other host; measured on the timeline, the stems and the MP3.

The golden timeline is a script with a question, a long statement, an interruption, two
backchannels (one kept apart by its turn) and a section change, spoken by a stand-in
voice (each host a tone of its own, one beat per character), so the times are exact and
the two voices can be told apart in the encoded file. ``UPDATE_GOLDEN=1`` rewrites it
after an intended change.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from duopod.audio.decode import SAMPLE_RATE
from duopod.errors import InputError
from duopod.mix.conversation import Pacing, gap_seconds
from duopod.mix.master import master_and_encode
from duopod.mix.plan import Layout, plan_mix
from duopod.script.exchange import (
    Meeting,
    is_backchannel_text,
    is_cut_off,
    is_question,
    meetings,
)
from duopod.script.model import Script
from duopod.script.parse import parse_script
from duopod.show.config import load_show
from duopod.show.workspace import AudioSettings, MixSettings
from duopod.speech.model import RenderedTurn, joined_sentences
from duopod.text import split_sentences

GOLDEN = Path(__file__).parent / "golden" / "conversation-timeline.json"
TONES = {"雷总": 180.0, "董小姐": 310.0}
"""Each host's stand-in voice: a tone of its own, so the MP3 can say who is heard."""

SCRIPT = """---
title: 对话的节奏
date: 2025-12-20
hosts: [雷总, 董小姐]
---
雷总
今天聊芯片。你觉得新规会改变什么？
董小姐
会改变买家的算盘。逐笔审批意味着每一单都要等，谁也说不准明天会不会又被叫停，大家都得多留一手。
雷总
等待本身就是成本。
董小姐
没错。
雷总
而且成本最后会落到用户身上——
董小姐
所以用户也得提前准备，这一点很多人还没意识到。

## 国产芯片
雷总
我们换个话题，看看国产芯片。
董小姐
嗯。
雷总
推理市场尤其如此，这是国产方案最容易站稳的地方。
董小姐
对。（单独）
雷总
好，今天就到这里。
"""


def script_at(tmp_path: Path, text: str = SCRIPT) -> Script:
    path = tmp_path / "scripts" / "talk.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return parse_script(path, workspace=tmp_path, known_hosts=tuple(TONES))


def stand_in(script: Script) -> list[RenderedTurn]:
    """Every turn "spoken" as its host's tone: 0.2 s a character, each sentence faded in
    and out, sentences joined as the one-sentence-at-a-time engines join them."""
    rendered = []
    for turn in script.turns:
        sentences = split_sentences(turn.text)
        audio = []
        for sentence in sentences:
            length = int(0.2 * SAMPLE_RATE * max(1, len(sentence.rstrip("。？！，—"))))
            t = np.arange(length) / SAMPLE_RATE
            edge = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
            audio.append((0.3 * edge * np.sin(2 * np.pi * TONES[turn.speaker] * t))
                         .astype(np.float32))
        rendered.append(RenderedTurn(turn, joined_sentences(sentences, audio, "stand-in")))
    return rendered


def layout_of(script: Script, mix: MixSettings | None = None) -> Layout:
    return plan_mix(script, stand_in(script), AudioSettings(), None, "zh-CN", mix)


def test_the_text_says_how_turns_meet() -> None:
    assert is_cut_off("落到用户身上——") and is_cut_off("我觉得……") and is_cut_off("But--")
    assert is_cut_off("“我觉得——”") and not is_cut_off("H20-H200。") and not is_cut_off("好。")
    assert is_question("会改变什么？") and is_question("Really?!") and not is_question("好。")
    for short in ("嗯。", "对。", "是的。", "对对对。", "是的是的。", "Right.", "Mm-hmm.",
                  "Yeah, exactly."):
        assert is_backchannel_text(short), short
    for not_short in ("真的吗？", "Really?", "这点很重要。", "That is right.", "等等——"):
        assert not is_backchannel_text(not_short), not_short
    assert not is_backchannel_text("嗯 OK。")  # Chinese and English: a sentence, not a murmur


def test_golden_timeline(tmp_path: Path) -> None:
    """The gaps, overlaps and levels of the conversation, byte for byte."""
    script = script_at(tmp_path)
    layout = layout_of(script)
    kinds = [m.kind.value for m in meetings(script)]
    assert kinds == ["first", "answer", "long", "backchannel", "resume", "interruption",
                     "section", "backchannel", "resume", "turn", "quick"]
    made = json.dumps({"meetings": kinds, "timeline": layout.timeline.to_dict(),
                       "gains": [round(c.gain, 4) for c in layout.clips]},
                      ensure_ascii=False, indent=1) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(made, encoding="utf-8")
    assert made == GOLDEN.read_text(encoding="utf-8")
    assert layout_of(script).timeline == layout.timeline  # deterministic: a rebuild is the same


def test_gaps_follow_the_meetings(tmp_path: Path) -> None:
    script = script_at(tmp_path)
    turns = layout_of(script).timeline.turns
    gap = [round(b.start - a.end, 3) for a, b in itertools.pairwise(turns)]
    mix = MixSettings()
    assert abs(gap[0] - mix.answer_gap) <= mix.jitter + 1e-3  # answered fast
    assert abs(gap[1] - mix.long_gap) <= mix.jitter + 1e-3  # after a long statement
    # the backchannel starts under 雷总's last words and is over before he goes on
    assert turns[3].start < turns[2].end < turns[3].end
    assert turns[4].start - turns[2].end == pytest.approx(gap_seconds(
        Meeting.RESUME, script.meta.slug, 4, Pacing(AudioSettings(), mix)), abs=1e-3)
    # cut off: 董小姐 starts interruption_overlap before 雷总's dash
    assert turns[4].end - turns[5].start == pytest.approx(mix.interruption_overlap, abs=1e-3)
    assert gap[5] == pytest.approx(AudioSettings().section_gap, abs=1e-3)
    # "对。（单独）" is kept apart: it waits its turn, and 雷总 waits for it
    assert turns[9].start > turns[8].end and turns[10].start > turns[9].end
    assert all(g >= 0.04 for i, g in enumerate(gap) if i not in (2, 3, 4, 6, 7))


def test_backchannels_and_interruptions_turned_off(tmp_path: Path) -> None:
    script = script_at(tmp_path)
    plain = layout_of(script, MixSettings(backchannels=False, interruptions=False))
    turns = plain.timeline.turns
    assert all(b.start > a.end for a, b in itertools.pairwise(turns))
    per_turn = script_at(tmp_path, SCRIPT.replace("没错。", "没错。[apart]"))
    assert meetings(per_turn)[3].kind is Meeting.QUICK or meetings(per_turn)[3].kind in (
        Meeting.TURN, Meeting.LONG)
    paused = script_at(tmp_path, SCRIPT.replace("没错。", "（停顿）没错。"))
    assert meetings(paused)[3].kind is not Meeting.BACKCHANNEL
    cut_then_pause = script_at(tmp_path, SCRIPT.replace("用户身上——", "用户身上——（停顿）"))
    assert meetings(cut_then_pause)[5].kind is not Meeting.INTERRUPTION


def test_even_timing_is_the_old_constant_gap(tmp_path: Path) -> None:
    script = script_at(tmp_path)
    even = layout_of(script, MixSettings(timing="even", backchannels=False,
                                         interruptions=False)).timeline.turns
    gaps = [b.start - a.end for a, b in itertools.pairwise(even)
            if a.section == b.section]
    audio = AudioSettings()
    assert all(abs(g - audio.gap) <= audio.gap_jitter + 1e-3 for g in gaps)


def _share(window: np.ndarray, tone: float) -> float:
    """How much of the window's power lies within 20 Hz of ``tone``."""
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window)))) ** 2
    freqs = np.fft.rfftfreq(len(window), 1 / SAMPLE_RATE)
    return float(spectrum[np.abs(freqs - tone) < 20].sum() / spectrum.sum())


def test_the_overlap_is_in_the_mp3(tmp_path: Path) -> None:
    """Mastered and encoded: in the cut-in window both voices sound, the cut-off one ducked
    under the new one (from the stems), the file on its loudness and peak targets; the
    cut-off voice ends without a click."""
    from conftest import decode_mp3

    from duopod.mix.peak import true_peak_db

    script = script_at(tmp_path)
    layout = layout_of(script)
    turns = layout.timeline.turns
    cut, cutter = turns[4], turns[5]
    a, b = int(cutter.start * SAMPLE_RATE) + 4000, int(cut.end * SAMPLE_RATE) - 600
    lei, dong = (layout.render(a, b, host)[:, 0] for host in ("雷总", "董小姐"))
    assert np.sqrt(np.mean(lei**2)) > 0.1 * np.sqrt(np.mean(dong**2)) > 0  # both, one ducked
    audio = AudioSettings()
    measured = master_and_encode(layout, audio, tmp_path / "talk.mp3")
    assert abs(measured.loudness_lufs - audio.loudness_lufs) <= 0.3
    assert measured.true_peak_dbtp <= audio.true_peak_dbtp
    heard = decode_mp3(tmp_path / "talk.mp3")[a:b]
    assert _share(heard, TONES["雷总"]) > 0.02 and _share(heard, TONES["董小姐"]) > 0.3
    assert true_peak_db(heard) <= audio.true_peak_dbtp
    # the cut-off voice fades to nothing at its end: no step, no click
    tail = layout.render(int(cut.end * SAMPLE_RATE) - 200, int(cut.end * SAMPLE_RATE),
                         "雷总")[:, 0]
    assert abs(tail[-1]) < 1e-3 and np.abs(np.diff(tail)).max() < 0.05


def test_mix_table_in_show_toml(show: Path) -> None:
    toml = (show / "show.toml").read_text(encoding="utf-8")
    assert load_show(show / "show.toml", show).mix == MixSettings()  # the example says so

    def written(old: str, new: str) -> Path:
        assert old in toml
        (show / "show.toml").write_text(toml.replace(old, new), encoding="utf-8")
        return show / "show.toml"

    changed = written("backchannels = true ", "backchannels = false ")
    assert load_show(changed, show).mix == replace(MixSettings(), backchannels=False)
    with pytest.raises(InputError) as caught:
        load_show(written('timing = "conversation"', 'timing = "natural"'), show)
    line = toml.split("\n").index("[mix]") + 2
    assert caught.value.line == line and "mix.timing" in str(caught.value)
    with pytest.raises(InputError, match=r"unknown field 'mix\.overlap'"):
        load_show(written("[mix]\n", "[mix]\noverlap = 1\n"), show)


# ---------------------------------------------------------------- the example, built


@pytest.fixture(scope="module")
def example(built_show: Path) -> tuple[Path, dict]:
    from test_build import episode_dir, record

    folder = episode_dir(built_show, "2025-12-10")
    return folder, record(folder)


def _overlapped_sentences(data: dict) -> tuple[float, list[str]]:
    """A moment of the example where two hosts are heard (the first backchannel), and the
    sentences heard then."""
    turns = data["timeline"]["turns"]
    short = next(t for t in turns if t["text"] == "嗯。")
    at = short["start"] + 0.05
    heard = [s["text"] for t in turns for s in t["sentences"] if s["start"] <= at < s["end"]]
    return at, heard


def test_overlapping_cues_in_real_readers(example: tuple[Path, dict]) -> None:
    """The example's transcripts carry overlapping cues, in start order, and ffmpeg's
    WebVTT and SRT demuxers read every one of them back with its times."""
    import subprocess

    from duopod.audio.decode import ffmpeg_exe

    folder, data = example
    at, heard = _overlapped_sentences(data)
    assert len(heard) == 2 and "嗯。" in heard  # the host's sentence and the murmur under it
    segments = json.loads((folder / "transcript.json").read_text("utf-8"))["segments"]
    starts = [s["startTime"] for s in segments]
    assert starts == sorted(starts)
    assert sum(1 for s in segments if s["startTime"] <= at < s["endTime"]) == 2
    for name in ("transcript.vtt", "transcript.srt"):
        done = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(folder / name),
                               "-f", "srt", "-"], capture_output=True, text=True, check=True)
        times = re.findall(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)",
                           done.stdout)
        spans = [(_seconds(t[:4]), _seconds(t[4:])) for t in times]
        assert len(spans) == len(segments), name
        assert sum(1 for lo, hi in spans if lo <= at < hi) == 2, name


def _seconds(parts: tuple[str, ...]) -> float:
    hours, minutes, seconds, millis = (int(p) for p in parts)
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_overlapping_cues_in_chromium(example: tuple[Path, dict], built_show: Path) -> None:
    """Chromium's own WebVTT parser takes every cue of the example's transcript and has two
    active at the backchannel; the episode page lights both sentences heard there."""
    playwright = pytest.importorskip("playwright.sync_api")
    from duopod.serve import in_background
    from duopod.show.workspace import load_workspace

    folder, data = example
    at, heard = _overlapped_sentences(data)
    count = len(json.loads((folder / "transcript.json").read_text("utf-8"))["segments"])
    with in_background(load_workspace(built_show)) as server, \
            playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/{folder.name}/index.html")
            page.wait_for_function("document.getElementById('player').readyState >= 1",
                                   timeout=15000)
            page.evaluate("""() => {
                const player = document.getElementById('player');
                const track = document.createElement('track');
                track.kind = 'subtitles'; track.src = 'transcript.vtt'; track.default = true;
                player.appendChild(track);
                player.textTracks[0].mode = 'hidden';
            }""")
            page.wait_for_function("document.getElementById('player').textTracks[0].cues"
                                   " && document.getElementById('player').textTracks[0]"
                                   ".cues.length > 0", timeout=10000)
            assert page.evaluate("document.getElementById('player').textTracks[0]"
                                 ".cues.length") == count
            page.evaluate(f"document.getElementById('player').currentTime = {at}")
            page.wait_for_function("document.getElementById('player').textTracks[0]"
                                   ".activeCues.length == 2", timeout=10000)
            active = page.evaluate("Array.from(document.getElementById('player').textTracks[0]"
                                   ".activeCues).map(c => c.text)")
            assert any("嗯。" in text for text in active)
            page.wait_for_function("document.querySelectorAll('.sentence.current').length == 2",
                                   timeout=10000)
            lit = page.evaluate("Array.from(document.querySelectorAll('.sentence.current'))"
                                ".map(s => s.textContent)")
            assert sorted(lit) == sorted(heard)
            assert errors == []
        finally:
            browser.close()
