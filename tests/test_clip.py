"""``duopod clip`` (issue 26.4): an MP4 that decodes (H.264 + AAC, the asked duration and
size) with the captions drawn where they belong, from an episode folder made here (the
record, a timeline and an MP3 by the bundled ffmpeg), so no build is needed."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from duopod.errors import InputError
from duopod.mix.timeline import Timeline, TimelineTurn
from duopod.publish.clip import (
    FORMATS,
    Caption,
    ass_document,
    ass_text,
    captions_between,
    ffmpeg_exe,
    make_clip,
    parse_time,
    soundbite_span,
)
from duopod.publish.record import AudioFile, EpisodeRecord, Notes
from duopod.show.workspace import load_workspace
from duopod.speech.model import SentenceSpan

SLUG = "2025-12-20-clip"
HOSTILE = r"Braces {\b1} and \N stay text"

TIMELINE = Timeline(turns=(
    TimelineTurn(0, "雷总", "", None, 0.0, 4.0, (
        SentenceSpan("芯片出口新规下的算力之争。", 0.0, 2.0),
        SentenceSpan(HOSTILE, 2.0, 4.0))),
    TimelineTurn(1, "董小姐", "", None, 4.0, 8.0, (
        SentenceSpan("H20 is the key point.", 4.2, 7.5),)),
), chapters=(), duration=8.0)


@pytest.fixture
def episode(show: Path) -> Path:
    folder = show / "episodes" / SLUG
    folder.mkdir(parents=True)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=220:duration=8", "-c:a", "libmp3lame", "-b:a", "64k",
                    str(folder / "audio.mp3")], check=True)
    when = dt.datetime(2025, 12, 20, 6, tzinfo=dt.UTC)
    record = EpisodeRecord(
        guid="b7c0b0a2-9a54-4d5e-9d39-1b3c1d1e0f00", slug=SLUG, script="scripts/x.md",
        title="Clip", date=when.date(), published=when, number=1, hosts=("雷总", "董小姐"),
        language="zh-CN", duration=8.0,
        audio=AudioFile("audio.mp3", (folder / "audio.mp3").stat().st_size),
        engine="espeak", description="d", notes=Notes(key_points=("H20 is the key point.",)),
        timeline=TIMELINE)
    (folder / "episode.json").write_text(record.to_json(), encoding="utf-8")
    return show


def _probe(path: Path) -> dict[str, str]:
    text = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True, check=False).stderr
    return {"video": next(line for line in text.splitlines() if "Video:" in line),
            "audio": next(line for line in text.splitlines() if "Audio:" in line),
            "duration": text.split("Duration: ", 1)[1].split(",", 1)[0]}


def _frame(video: Path, at: float, width: int, height: int) -> np.ndarray:
    """One decoded frame as RGB pixels (rows, columns, 3)."""
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-ss", str(at), "-i", str(video),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3).astype(int)


def test_ass_text_keeps_producer_text_literal() -> None:
    escaped = ass_text(HOSTILE + "\nline two")
    assert "{" not in escaped.replace("\\{", "") and "}" not in escaped.replace("\\}", "")
    assert "\\N" not in escaped and "\n" not in escaped
    document = ass_document([Caption(0, 1, "a{b}", HOSTILE)], 720, 1280)
    assert document.count("\nDialogue:") == 2


def test_captions_and_times() -> None:
    heard = captions_between(TIMELINE, 3.0, 6.0)
    assert [(round(c.start, 3), round(c.end, 3), c.speaker) for c in heard] == [
        (0.0, 1.0, "雷总"), (1.2, 3.0, "董小姐")]
    assert parse_time("1:15") == 75 and parse_time("12.5") == 12.5
    with pytest.raises(InputError):
        parse_time("soon")
    assert soundbite_span(TIMELINE, ("H20 is the key point.",), 1) == (4.2, 7.5)
    with pytest.raises(InputError):
        soundbite_span(TIMELINE, ("H20 is the key point.",), 2)


@pytest.mark.slow
@pytest.mark.parametrize("video_format", ["9:16", "1:1"])
def test_the_clip_decodes_with_captions_drawn(episode: Path, tmp_path: Path,
                                              video_format: str) -> None:
    workspace = load_workspace(episode)
    clip = make_clip(workspace, SLUG, tmp_path / "clip.mp4", start=0, end=6,
                     video_format=video_format)
    bare = make_clip(workspace, SLUG, tmp_path / "bare.mp4", start=0, end=6,
                     video_format=video_format, captions=False)
    probe = _probe(clip)
    width, height = FORMATS[video_format]
    assert "h264" in probe["video"] and f"{width}x{height}" in probe["video"]
    assert "aac" in probe["audio"]
    assert probe["duration"].startswith("00:00:06") or probe["duration"].startswith("00:00:05.9")
    captioned = _frame(clip, 1.0, width, height)  # the Chinese sentence
    plain = _frame(bare, 1.0, width, height)
    assert captioned.shape == (height, width, 3)
    band = slice(height - height // 4, height)  # the caption area at the bottom
    changed = np.abs(captioned[band] - plain[band]).sum(axis=2) > 60
    assert changed.sum() > 500  # glyphs drawn
    top = slice(0, height // 8)  # the cover area carries no caption
    assert (np.abs(captioned[top] - plain[top]).sum(axis=2) > 60).sum() < 50


@pytest.mark.slow
def test_clip_command_writes_the_soundbite(episode: Path) -> None:
    done = run_cli(episode, "clip", SLUG, "--soundbite", "1", "--format", "16:9")
    assert done.returncode == 0, done.stderr
    made = episode / "episodes" / SLUG / "clip-4s.mp4"
    assert "1280x720" in _probe(made)["video"]
    refused = run_cli(episode, "clip", SLUG, "--format", "4:3")
    assert refused.returncode == 2 and "--format must be one of" in refused.stderr
    assert json.loads((episode / "episodes" / SLUG / "episode.json").read_text())["slug"] == SLUG
