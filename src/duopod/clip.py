"""Short captioned videos of an episode for social media (an "audiogram"): the cover, the
speaker's name, a moving waveform and burned-in captions timed from the episode's own
sentence timeline, encoded H.264 + AAC by the ffmpeg that imageio-ffmpeg bundles (it has
libx264, libass and fontconfig).

Captions and names go through one ASS file rather than ffmpeg's drawtext, so producer text
never meets filter-graph syntax; ASS's own specials (``{...}`` override blocks, ``\\N``)
are escaped here.

Chinese glyphs: with the ``clip`` extra (``pylopdf-fonts-zh-cn``, Noto Sans SC under the
SIL OFL 1.1) libass is pointed at that file (the subtitles filter's ``fontsdir``), so a
``pip install`` alone draws Chinese captions; the file is used only if its sha256 is the
one pinned here. Without it the captions ask fontconfig for "Noto Sans CJK SC" (Debian's
``fonts-noto-cjk``), and without that libass takes whatever font fontconfig has.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from .disk.atomic import write_atomically
from .errors import InputError
from .mix.timeline import Timeline
from .show.workspace import Workspace
from .store.episodes import episode_folder, read_record

FORMATS: dict[str, tuple[int, int]] = {"9:16": (720, 1280), "1:1": (720, 720),
                                       "16:9": (1280, 720)}
MAX_SECONDS = 60.0
"""Default upper bound: the short-video platforms' common limit."""
CAPTION_FONT = "Noto Sans CJK SC"
"""The system font's family (Debian's fonts-noto-cjk), used without the clip extra."""
WAVE_HEIGHT = 160
FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_FILE = "NotoSansSC-Regular.otf"
FONT_FAMILY = "Noto Sans SC"
FONT_SHA256 = "faa6c9df652116dde789d351359f3d7e5d2285a2b2a1f04a2d7244df706d5ea9"
"""sha256 of Noto Sans SC Regular as pylopdf-fonts-zh-cn 0.1.1 ships it."""


@dataclass(frozen=True)
class CaptionFont:
    """The font the captions are drawn in: a family, and the file libass loads it from
    (None: fontconfig finds it among the system's fonts)."""

    family: str
    file: Path | None = None
    problem: str | None = None
    """Why the packaged font is not used although installed (it is not the pinned file)."""


@cache
def caption_font() -> CaptionFont:
    """The packaged Noto Sans SC when the clip extra is installed and its file checks out,
    else the system's Noto Sans CJK SC."""
    if importlib.util.find_spec(FONT_PACKAGE) is None:
        return CaptionFont(CAPTION_FONT)
    path = Path(str(files(FONT_PACKAGE).joinpath(FONT_FILE)))
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return CaptionFont(CAPTION_FONT, problem=f"{path}: {exc.strerror}")
    if digest != FONT_SHA256:
        return CaptionFont(CAPTION_FONT, problem=f"{path} has sha256 {digest[:16]}..., not "
                           f"the pinned {FONT_SHA256[:16]}...: reinstall duopod[clip]")
    return CaptionFont(FONT_FAMILY, path)


@dataclass(frozen=True)
class Caption:
    start: float
    end: float
    speaker: str
    text: str


def ass_text(text: str) -> str:
    """``text`` as literal ASS dialogue: no override blocks, no ``\\N``/``\\h`` escapes,
    one line (a word joiner after each backslash breaks ``\\N`` without showing)."""
    flat = " ".join(text.split())
    return flat.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")


def captions_between(timeline: Timeline, start: float, end: float) -> list[Caption]:
    """The sentences heard in [start, end), with times relative to ``start``."""
    found: list[Caption] = []
    for turn in timeline.turns:
        for sentence in turn.sentences:
            if sentence.end <= start or sentence.start >= end:
                continue
            found.append(Caption(max(sentence.start, start) - start,
                                 min(sentence.end, end) - start, turn.speaker, sentence.text))
    return found


def parse_time(text: str) -> float:
    """``75``, ``75.5``, ``1:15`` or ``0:01:15`` as seconds; InputError otherwise."""
    try:
        seconds = 0.0
        for part in text.strip().split(":"):
            seconds = seconds * 60 + float(part)
    except ValueError:
        raise InputError(f"not a time: {text!r} (seconds, or m:ss)") from None
    if seconds < 0 or len(text.split(":")) > 3:
        raise InputError(f"not a time: {text!r} (seconds, or m:ss)")
    return seconds


def soundbite_span(timeline: Timeline, key_points: tuple[str, ...], number: int
                   ) -> tuple[float, float]:
    """Where the ``number``-th (1-based) key point is heard: the sentences of the timeline
    the key point's text is made of (its first and last one found in order)."""
    if not 1 <= number <= len(key_points):
        raise InputError(f"--soundbite {number}: the episode has {len(key_points)} key points")
    wanted = " ".join(key_points[number - 1].split())
    spans = [(s.start, s.end, " ".join(s.text.split()))
             for turn in timeline.turns for s in turn.sentences]
    hits = [(start, end) for start, end, text in spans if text and text in wanted]
    if not hits:
        raise InputError(f"--soundbite {number}: key point {wanted[:60]!r} is not a sentence "
                         "of the episode; give --from and --to")
    return hits[0][0], hits[-1][1]


def _ass_time(seconds: float) -> str:
    centis = round(max(seconds, 0.0) * 100)
    hours, rest = divmod(centis, 360000)
    minutes, rest = divmod(rest, 6000)
    return f"{hours}:{minutes:02d}:{rest // 100:02d}.{rest % 100:02d}"


def ass_document(captions: list[Caption], width: int, height: int,
                 font: str = CAPTION_FONT) -> str:
    """The subtitles file: a caption style near the bottom, a name style above the wave,
    both in font family ``font``."""
    size = max(width // 18, 28)
    header = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 0\n"
        f"PlayResX: {width}\nPlayResY: {height}\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Caption,{font},{size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,"
        f"0,0,0,0,100,100,0,0,1,3,0,2,40,40,{height // 14},1\n"
        f"Style: Name,{font},{int(size * 0.8)},&H0000D7FF,&H0000D7FF,&H00000000,"
        f"&H80000000,1,0,0,0,100,100,0,0,1,2,0,8,40,40,{height // 2 + 10},1\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    lines = []
    for caption in captions:
        when = f"{_ass_time(caption.start)},{_ass_time(caption.end)}"
        lines.append(f"Dialogue: 0,{when},Caption,,0,0,0,,{ass_text(caption.text)}")
        lines.append(f"Dialogue: 0,{when},Name,,0,0,0,,{ass_text(caption.speaker)}")
    return header + "\n".join(lines) + "\n"


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def make_clip(workspace: Workspace, slug: str, out: Path, *, start: float = 0.0,
              end: float | None = None, video_format: str = "9:16",
              captions: bool = True) -> Path:
    """Write the clip of episode ``slug`` from ``start`` to ``end`` (default: at most
    ``MAX_SECONDS``) to ``out`` (atomically). ``captions=False`` leaves the captions out
    (for comparing frames)."""
    if video_format not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, not {video_format!r}")
    folder = episode_folder(workspace, slug)  # published, or a draft not yet in the feed
    record = read_record(folder / "episode.json")
    if record.timeline is None:
        raise InputError(f"episode {slug!r} has no timeline in its record", folder)
    stop = min(end if end is not None else start + MAX_SECONDS, record.duration)
    if not 0 <= start < stop:
        raise InputError(f"the clip must start before it ends, within the episode's "
                         f"{record.duration:.1f} s (from {start} to {stop})")
    cover = workspace.show.cover
    if cover is None:
        raise InputError("show.toml has no cover for the clip")
    width, height = FORMATS[video_format]
    side = min(width, height // 2) - 80
    heard = captions_between(record.timeline, start, stop) if captions else []
    font = caption_font()
    with tempfile.TemporaryDirectory(prefix="duopod-clip-") as scratch:
        work = Path(scratch)
        (work / "captions.ass").write_text(ass_document(heard, width, height, font.family),
                                           encoding="utf-8")
        subtitles = "subtitles=captions.ass"
        if font.file is not None:  # a folder of its own, named plainly for the filter graph
            (work / "fonts").mkdir()
            (work / "fonts" / font.file.name).symlink_to(font.file)
            subtitles += ":fontsdir=fonts"
        graph = (
            f"[1:v]scale={side}:{side}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:{max(height // 4 - side // 2, 40)}:color=0x101820,"
            "setsar=1,format=yuv420p[bg];"
            f"[0:a]showwaves=s={width}x{WAVE_HEIGHT}:mode=cline:rate=25:colors=0x66CCFF,"
            "format=yuva420p[wave];"
            f"[bg][wave]overlay=0:{height // 2 + height // 8}:shortest=1,"
            f"{subtitles}[v]"
        )
        target = work / "clip.mp4"
        command = [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-ss", f"{start:.3f}", "-t", f"{stop - start:.3f}",
            "-i", str((folder / record.audio.file).resolve()),
            "-loop", "1", "-framerate", "25", "-i", str(cover.resolve()),
            "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-r", "25",
            "-c:a", "aac", "-b:a", "128k", "-shortest", "-movflags", "+faststart",
            "-map_chapters", "-1", "-map_metadata", "-1",
            str(target),
        ]
        done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise InputError(f"ffmpeg could not make the clip: {done.stderr.strip()[-400:]}")
        write_atomically(out, target.read_bytes())
    return out
