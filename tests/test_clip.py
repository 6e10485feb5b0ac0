"""``duopod clip`` (issue 26.4): an MP4 that decodes (H.264 + AAC, the asked duration and
size) with the captions drawn where they belong, from an episode folder made here (the
record, a timeline and an MP3 by the bundled ffmpeg), so no build is needed."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, tree_snapshot

from duopod.clip import (
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
from duopod.errors import InputError
from duopod.mix.timeline import Timeline, TimelineTurn
from duopod.show.workspace import load_workspace
from duopod.speech.model import SentenceSpan
from duopod.store.record import AudioFile, EpisodeRecord, Notes

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
    """The clip goes to clips/, outside the published site: episodes/ (what a deploy
    publishes) is left exactly as it was."""
    site = tree_snapshot(episode / "episodes")
    done = run_cli(episode, "clip", SLUG, "--soundbite", "1", "--format", "16:9")
    assert done.returncode == 0, done.stderr
    made = episode / "clips" / f"{SLUG}-4s-16x9.mp4"
    assert tree_snapshot(episode / "episodes") == site
    assert "1280x720" in _probe(made)["video"]
    refused = run_cli(episode, "clip", SLUG, "--format", "4:3")
    assert refused.returncode == 2 and "--format must be one of" in refused.stderr
    assert json.loads((episode / "episodes" / SLUG / "episode.json").read_text())["slug"] == SLUG


def _glyph_cells(frame: np.ndarray, bare: np.ndarray, count: int) -> list[np.ndarray]:
    """The caption line's ink (what the captions changed in the bottom quarter), cut into
    ``count`` cells of equal width across its extent (full-width CJK characters)."""
    height = frame.shape[0]
    band = slice(height - height // 4, height)
    ink = np.abs(frame[band] - bare[band]).sum(axis=2) > 60
    columns = np.flatnonzero(ink.any(axis=0))
    if columns.size == 0:
        return []
    left, right = columns[0], columns[-1] + 1
    edges = np.linspace(left, right, count + 1).round().astype(int)
    return [ink[:, a:b] for a, b in itertools.pairwise(edges)]


def _drawn_glyphs(cells: list[np.ndarray]) -> int:
    """How many cells hold a glyph unlike every other cell's: real characters differ from
    each other, tofu boxes (and blanks) are all alike."""
    width = min((cell.shape[1] for cell in cells), default=0)
    masks = [cell[:, :width] for cell in cells]
    unlike = 0
    for i, mask in enumerate(masks):
        others = [np.logical_xor(mask, other).mean() for j, other in enumerate(masks) if j != i]
        if mask.mean() > 0.02 and min(others, default=0.0) > 0.04:
            unlike += 1
    return unlike


@pytest.mark.slow
def test_chinese_captions_are_drawn_with_system_fonts_hidden(
        episode: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip install alone: with fontconfig given no fonts at all, the clip extra's Noto
    Sans SC still draws the twelve different characters of 芯片出口新规下的算力之争; with
    the system route alone (the old code) they are not drawn."""
    from duopod import clip as clip_module

    font = clip_module.caption_font()
    if font.file is None:
        pytest.skip(f"the clip extra is not installed ({font.problem or 'pip install duopod[clip]'})")
    config = tmp_path / "fonts.conf"
    config.write_text(f"<?xml version='1.0'?>\n<fontconfig><dir>{tmp_path / 'none'}</dir>"
                      f"<cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n")
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    if shutil.which("fc-list"):  # fontconfig itself sees no font at all
        listed = subprocess.run(["fc-list"], capture_output=True, text=True, check=False,
                                env={"FONTCONFIG_FILE": str(config)})
        assert listed.stdout.strip() == ""
    workspace = load_workspace(episode)
    width, height = FORMATS["1:1"]
    bare = _frame(make_clip(workspace, SLUG, tmp_path / "bare.mp4", start=0, end=2,
                            video_format="1:1", captions=False), 1.0, width, height)
    packaged = _frame(make_clip(workspace, SLUG, tmp_path / "packaged.mp4", start=0, end=2,
                                video_format="1:1"), 1.0, width, height)
    assert _drawn_glyphs(_glyph_cells(packaged, bare, 13)[:12]) == 12
    monkeypatch.setattr(clip_module, "caption_font",
                        lambda: clip_module.CaptionFont(clip_module.CAPTION_FONT))
    system = _frame(make_clip(workspace, SLUG, tmp_path / "system.mp4", start=0, end=2,
                              video_format="1:1"), 1.0, width, height)
    assert _drawn_glyphs(_glyph_cells(system, bare, 13)[:12]) < 3


def test_the_packaged_caption_font_is_used_only_when_it_checks_out(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from duopod import clip as clip_module

    clip_module.caption_font.cache_clear()
    monkeypatch.setattr(clip_module, "FONT_PACKAGE", "no_such_font_package")
    assert clip_module.caption_font() == clip_module.CaptionFont("Noto Sans CJK SC")
    clip_module.caption_font.cache_clear()
    monkeypatch.setattr(clip_module, "FONT_PACKAGE", "duopod")  # a package without the file
    monkeypatch.setattr(clip_module, "FONT_FILE", "py.typed")
    chosen = clip_module.caption_font()
    assert chosen.family == "Noto Sans CJK SC" and chosen.file is None
    assert chosen.problem and "not the pinned" in chosen.problem
    clip_module.caption_font.cache_clear()
    assert "fontsdir" not in ass_document([], 720, 720)  # the font's folder is the filter's
    assert "Style: Caption,Noto Sans SC," in ass_document([], 720, 720, "Noto Sans SC")


@pytest.mark.slow
def test_a_draft_not_in_the_feed_can_be_clipped(episode: Path) -> None:
    """Drafts land in .duopod/pending/ (issue 27.4): clip looked only in episodes/."""
    pending = load_workspace(episode).pending_dir
    pending.mkdir(parents=True)
    (episode / "episodes" / SLUG).rename(pending / SLUG)
    done = run_cli(episode, "clip", SLUG, "--from", "0", "--to", "3", "--out", "draft.mp4")
    assert done.returncode == 0, done.stderr
    assert _probe(episode / "draft.mp4")["duration"].startswith("00:00:03")


LONG = ("对英伟达来说，中国曾经是它数据中心业务的重要市场，管制以后这块收入掉得很厉害，"
        "比如像DeepSeek-R1 671B这样的大家伙，没有H200几乎寸步难行。")
LONG_TIMELINE = Timeline(turns=(
    TimelineTurn(0, "董小姐", LONG, None, 0.0, 8.0, (SentenceSpan(LONG, 0.0, 8.0),)),
), chapters=(), duration=8.0)


def test_captions_wrap_by_measured_width_never_inside_a_word() -> None:
    from duopod.clip import (
        CAPTION_LINES,
        caption_measure,
        caption_size,
        fitted_captions,
        wrap_caption,
    )

    measure = caption_measure()
    for video_format, (width, _height) in FORMATS.items():
        screens = fitted_captions(captions_between(LONG_TIMELINE, 0, 8), width, measure)
        lines = [line for screen in screens for line in screen.text.split("\n")]
        assert all(len(screen.text.split("\n")) <= CAPTION_LINES for screen in screens)
        assert "".join(lines).replace(" ", "") == LONG.replace(" ", ""), video_format
        for word in ("DeepSeek-R1", "671B", "H200"):
            assert any(word in line for line in lines), (video_format, word, lines)
        room = width - 2 * 40
        assert all(measure(line, caption_size(width)) <= room for line in lines)
        # timed per screen, by length, covering the sentence's time exactly
        assert screens[0].start == 0.0 and screens[-1].end == pytest.approx(8.0)
        assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(screens))
    # a line never starts with a closing mark, and a code wider than a line is cut anyway
    narrow = wrap_caption("数据很多，" * 6, 200, 40, measure)
    assert not any(line[0] in "，。" for line in narrow)
    assert all(measure(line, 40) <= 120 for line in wrap_caption("x" * 80, 120, 40, measure))


@pytest.mark.slow
@pytest.mark.parametrize("video_format", ["9:16", "1:1", "16:9"])
def test_a_long_chinese_caption_keeps_every_glyph_inside_the_frame(
        episode: Path, tmp_path: Path, video_format: str) -> None:
    """Drawn by libass and measured on the decoded frame: the caption's ink stays clear of
    both edges, in at most two lines, where one line ran off both edges before."""
    from duopod.clip import caption_font

    if caption_font().file is None:
        pytest.skip("the clip extra is not installed (pip install 'duopod[clip]')")
    folder = episode / "episodes" / SLUG
    data = json.loads((folder / "episode.json").read_text(encoding="utf-8"))
    data["timeline"] = LONG_TIMELINE.to_dict()
    (folder / "episode.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    workspace = load_workspace(episode)
    width, height = FORMATS[video_format]
    clip = make_clip(workspace, SLUG, tmp_path / "clip.mp4", start=0, end=8,
                     video_format=video_format)
    bare = make_clip(workspace, SLUG, tmp_path / "bare.mp4", start=0, end=8,
                     video_format=video_format, captions=False)
    for at in (1.0, 6.5):  # the first two lines, then the rest
        frame, plain = _frame(clip, at, width, height), _frame(bare, at, width, height)
        band = slice(height // 2 + height // 8, height)  # from the wave down
        # the captions' white glyphs (the wave is coloured, the background dark)
        ink = (frame[band].min(axis=2) > 150) & (plain[band].min(axis=2) < 100)
        columns = np.flatnonzero(ink.any(axis=0))
        assert columns.size > 100, at  # drawn
        assert columns[0] >= 20 and columns[-1] < width - 20, (at, columns[0], columns[-1])
        rows = np.flatnonzero(ink.any(axis=1))
        lines = 1 + int((np.diff(rows) > 4).sum())  # runs of ink rows, gaps between lines
        assert 1 <= lines <= 2, (at, lines)
