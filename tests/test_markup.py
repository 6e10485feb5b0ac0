"""Text from a script reaches players and other hosts inert: transcripts and show notes
(issue 11, defects 6 and 7), checked with the parsers those consumers use."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from duopod.mix.timeline import Chapter, Timeline, TimelineTurn
from duopod.publish.transcripts import to_srt, to_vtt
from duopod.speech.model import SentenceSpan

HOSTILE = [
    '<font color="#ff0000">red</font> and <i>italic</i> <b>bold</b>',
    r"{\an8}on top {\pos(10,10)} and a\Nbreak",
    "x < 5 --> y > 3 & 「引号」“quotes” 'single'",
]


def timeline(texts: list[str], speaker: str = "雷总") -> Timeline:
    turns = tuple(
        TimelineTurn(i, speaker, text, None, i * 2.0, i * 2.0 + 1.5,
                     (SentenceSpan(text, i * 2.0, i * 2.0 + 1.5),))
        for i, text in enumerate(texts)
    )
    return Timeline(turns, (Chapter("开场", 0.0, len(texts) * 2.0),), len(texts) * 2.0)


def ffmpeg_as_ass(srt: str, folder: Path) -> str:
    """The subtitles as ffmpeg's SRT decoder (the one mpv, VLC-like and web players share
    the rules of) turns them into styled ASS events."""
    source, target = folder / "in.srt", folder / "out.ass"
    source.write_text(srt, encoding="utf-8")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source),
                    str(target)], check=True, capture_output=True, timeout=60)
    return target.read_text(encoding="utf-8")


def test_srt_markup_from_the_script_is_shown_not_obeyed(tmp_path: Path) -> None:
    srt = to_srt(timeline(HOSTILE, speaker="<i>雷总</i>"))
    for raw in ("<font", "<i>", "<b>", "{\\", "\\N", "-->  y"):
        assert raw not in srt
    assert srt.count(" --> ") == len(HOSTILE)  # only the timing lines
    events = [line for line in ffmpeg_as_ass(srt, tmp_path).splitlines()
              if line.startswith("Dialogue:")]
    assert len(events) == len(HOSTILE)
    assert not any("{\\" in event for event in events), events  # no styling or position
    assert "red" in events[0] and "italic" in events[0] and "「引号」“quotes” 'single'" in events[2]


def test_srt_keeps_ordinary_text_as_written() -> None:
    srt = to_srt(timeline(["你好，世界！It's “fine” — 100% (really).", "Plain & simple."]))
    assert "雷总: 你好，世界！It's “fine” — 100% (really)." in srt
    assert "雷总: Plain & simple." in srt


@pytest.mark.parametrize("text", HOSTILE)
def test_vtt_still_escapes_markup(text: str) -> None:
    vtt = to_vtt(timeline([text]))
    body = vtt.split("<v 雷总>", 1)[1]
    assert "<" not in body and ">" not in body.replace("&gt;", "")
