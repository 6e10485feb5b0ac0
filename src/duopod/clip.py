"""Short captioned videos of an episode for social media (an "audiogram"): the cover, the
speaker's name, a moving waveform and burned-in captions timed from the episode's own
sentence timeline, encoded H.264 + AAC by the ffmpeg that imageio-ffmpeg bundles (it has
libx264, libass and fontconfig).

Captions and names go through one ASS file rather than ffmpeg's drawtext, so producer text
never meets filter-graph syntax; ASS's own specials (``{...}`` override blocks, ``\\N``)
are escaped here.

Captions fit the frame: each sentence is broken into lines by the measured advance widths of
the caption font's glyphs (fontTools reading the very file libass draws with, scaled as
libass scales it), Chinese between any two characters, Latin never inside a word or a
code like "H200", at most two lines on screen at once; a longer sentence is shown two lines
at a time, each pair for its share of the sentence's time.

Chinese glyphs: with the ``clip`` extra (``pylopdf-fonts-zh-cn``, Noto Sans SC under the
SIL OFL 1.1) libass is pointed at that file (the subtitles filter's ``fontsdir``), so a
``pip install`` alone draws Chinese captions; the file is used only if its sha256 is the
one pinned here. Without it the captions ask fontconfig for "Noto Sans CJK SC" (Debian's
``fonts-noto-cjk``), and without that libass takes whatever font fontconfig has.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import re
import shutil
import subprocess
import tempfile
import unicodedata
from collections.abc import Callable
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


CAPTION_MARGIN = 40
"""Pixels kept clear left and right of the captions (the ASS style's MarginL/MarginR)."""
CAPTION_LINES = 2
"""The most lines of a caption on screen at once."""
_OUTLINE = 3


def caption_size(width: int) -> int:
    """The captions' font size for a frame ``width`` pixels wide."""
    return max(width // 18, 28)


class GlyphWidths:
    """How wide a line of text is drawn, from the font's own advance widths (``hmtx``) as
    libass scales them: ``size`` pixels to the font's OS/2 win ascent plus descent (what
    VSFilter, and so libass, size a font by). A character the font lacks (drawn from a
    fallback font) counts a full em, so a line is never measured short."""

    def __init__(self, path: Path, index: int = 0) -> None:
        from fontTools.ttLib import TTFont

        font = TTFont(str(path), fontNumber=index, lazy=True)
        os2 = font["OS/2"]
        self._height = float(os2.usWinAscent + os2.usWinDescent) or float(
            font["head"].unitsPerEm)
        self._em = float(font["head"].unitsPerEm)
        self._cmap = font.getBestCmap()
        self._advance = {name: advance for name, (advance, _lsb) in font["hmtx"].metrics.items()}

    def __call__(self, text: str, size: float) -> float:
        units = sum(float(self._advance.get(self._cmap.get(ord(c), ""), self._em))
                    for c in text)
        return units * size / self._height


def estimated_width(text: str, size: float) -> float:
    """A line's width without the font file: a Chinese (wide) character 0.7 of the size,
    anything else 0.55, a little over Noto's widest."""
    return sum(0.7 if _wide(c) else 0.55 for c in text) * size


@cache
def caption_measure() -> Callable[[str, float], float]:
    """The width measure of the font the captions are drawn in: the packaged font's file,
    else the system font fontconfig picks for CAPTION_FONT, else an estimate."""
    font = caption_font()
    try:
        if font.file is not None:
            return GlyphWidths(font.file)
        fc_match = shutil.which("fc-match")
        if fc_match is None:
            return estimated_width
        found = subprocess.run([fc_match, "-f", "%{file}\n%{index}", CAPTION_FONT],
                               capture_output=True, text=True, check=False, timeout=10)
        path, _newline, index = found.stdout.partition("\n")
        if found.returncode == 0 and path and Path(path).is_file():
            return GlyphWidths(Path(path), int(index or 0))
    except (ImportError, OSError, KeyError, ValueError, subprocess.TimeoutExpired):
        pass
    return estimated_width


_NO_LINE_START = set("，。！？；：、）》」』”’,.!?;:)]}%…—～")
_NO_LINE_END = set("（《「『“‘([{")


def caption_tokens(text: str) -> list[str]:
    """The pieces a caption may break between: each Chinese character, each Latin word or
    code whole ("H200", "DeepSeek-R1", "141GB"), each with the space before it; closing
    punctuation stays with what it closes, opening punctuation with what it opens."""
    tokens: list[str] = []
    word, space, opening = "", "", ""

    def push(token: str) -> None:
        nonlocal space, opening
        tokens.append(space + opening + token)
        space, opening = "", ""

    for char in " ".join(text.split()):
        if char.isspace():
            if word:
                push(word)
                word = ""
            space = " "
        elif char in _NO_LINE_START:
            if word:
                push(word)
                word = ""
            if tokens and not space and not opening:
                tokens[-1] += char
            else:
                push(char)
        elif char in _NO_LINE_END:
            if word:
                push(word)
                word = ""
            opening += char
        elif _wide(char):
            if word:
                push(word)
                word = ""
            push(char)
        else:
            word += char
    if word:
        push(word)
    if opening:
        push("")
    return tokens


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def wrap_caption(text: str, width: float, size: float,
                 measure: Callable[[str, float], float]) -> list[str]:
    """``text`` as lines no wider than ``width`` pixels at font ``size``: broken only
    between tokens (``caption_tokens``); a single token wider than a line (a long address)
    is the one thing cut, between its characters."""
    lines: list[str] = []
    current = ""
    for token in caption_tokens(text):
        candidate = current + token if current else token.lstrip()
        if measure(candidate, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = token.lstrip()
        while measure(current, size) > width and len(current) > 1:  # one token too wide
            cut = max(1, max(i for i in range(1, len(current) + 1)
                             if i == 1 or measure(current[:i], size) <= width))
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines


def fitted_captions(captions: list[Caption], width: int,
                    measure: Callable[[str, float], float] | None = None) -> list[Caption]:
    """Each caption as screens of at most CAPTION_LINES lines that fit a frame ``width``
    wide (lines joined by newlines), each screen shown for its share of the caption's time
    by length."""
    measure = measure or caption_measure()
    size = caption_size(width)
    room = width - 2 * CAPTION_MARGIN - 2 * _OUTLINE - 2
    fitted: list[Caption] = []
    for caption in captions:
        lines = wrap_caption(caption.text, room, size, measure)
        screens = [lines[i : i + CAPTION_LINES] for i in range(0, len(lines), CAPTION_LINES)]
        total = sum(len("".join(screen)) for screen in screens) or 1
        start = caption.start
        for screen in screens:
            end = start + (caption.end - caption.start) * len("".join(screen)) / total
            fitted.append(Caption(start, end, caption.speaker, "\n".join(screen)))
            start = end
    return fitted


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


def ass_lines(text: str) -> str:
    """Lines of text (joined by newlines) as literal ASS dialogue, broken with ``\\N``
    where the newlines were and nowhere else."""
    return "\\N".join(ass_text(line) for line in text.split("\n"))


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


_TIME = re.compile(r"(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d+)?)")
"""``75``, ``75.5``, ``1:15``, ``0:01:15.5``: digits only (no sign, no ``nan``, no ``1e3``)."""


def parse_time(text: str) -> float:
    """``75``, ``75.5``, ``1:15`` or ``0:01:15`` as seconds; InputError otherwise (``nan``,
    ``inf``, ``-5``, ``1:-5``, ``1:75``: minutes and seconds after a colon stay below 60)."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise InputError(f"not a time: {text!r} (seconds, or m:ss)")
    hours, minutes, seconds = match.groups()
    colons = text.count(":")
    if (colons and float(seconds) >= 60) or (colons == 2 and int(minutes) >= 60):
        raise InputError(f"not a time: {text!r} (minutes and seconds after a colon are "
                         "below 60)")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


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
    both in font family ``font``. Captions are drawn as broken (``fitted_captions``):
    libass wraps nothing itself (WrapStyle 2)."""
    size = caption_size(width)
    header = (
        "[Script Info]\nScriptType: v4.00+\nWrapStyle: 2\n"
        f"PlayResX: {width}\nPlayResY: {height}\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Caption,{font},{size},&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,"
        f"0,0,0,0,100,100,0,0,1,{_OUTLINE},0,2,{CAPTION_MARGIN},{CAPTION_MARGIN},"
        f"{height // 14},1\n"
        f"Style: Name,{font},{int(size * 0.8)},&H0000D7FF,&H0000D7FF,&H00000000,"
        f"&H80000000,1,0,0,0,100,100,0,0,1,2,0,8,40,40,{height // 2 + 10},1\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    lines = []
    for caption in captions:
        when = f"{_ass_time(caption.start)},{_ass_time(caption.end)}"
        lines.append(f"Dialogue: 0,{when},Caption,,0,0,0,,{ass_lines(caption.text)}")
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
    if not (math.isfinite(start) and math.isfinite(stop) and 0 <= start < stop):
        raise InputError(f"the clip must start before it ends, within the episode's "
                         f"{record.duration:.1f} s (from {start} to {stop})")
    cover = workspace.show.cover
    if cover is None:
        raise InputError("show.toml has no cover for the clip")
    width, height = FORMATS[video_format]
    side = min(width, height // 2) - 80
    heard = fitted_captions(captions_between(record.timeline, start, stop) if captions else [],
                            width)
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
