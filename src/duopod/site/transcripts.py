"""Transcripts and chapters from the timeline: WebVTT, SRT, Podcast Index JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..mix.timeline import Timeline
from ..text import contains_cjk, display_width, pack, split_clauses

LINE_WIDTH = 64
"""Columns per cue line: about 64 Latin characters or 32 Chinese ones."""
MAX_LINES = 2


@dataclass(frozen=True)
class Cue:
    speaker: str
    start: float
    end: float
    text: str


def cues(timeline: Timeline) -> list[Cue]:
    """Sentence-level cues in the order they start; a sentence too long for two lines is
    split at clauses, its time shared out by length. Cues may overlap: a backchannel or a
    turn cutting in is heard over the other host, and its cue says so with its real time
    (WebVTT and SRT players show overlapping cues together)."""
    out: list[Cue] = []
    for turn in timeline.turns:
        for index, sentence in enumerate(turn.sentences):
            pieces = _fit(_with_laughs(sentence.text, index, turn.laughs))
            total = sum(len(p) for p in pieces) or 1
            cursor = sentence.start
            span = sentence.end - sentence.start
            for piece in pieces:
                end = cursor + span * len(piece) / total
                out.append(Cue(turn.speaker, cursor, end, piece))
                cursor = end
    return sorted(out, key=lambda cue: cue.start)  # stable: a turn's own cues keep order


def laugh_marker(label: str) -> str:
    """A laugh as a transcript writes it: （笑） in Chinese, [laughs] in English."""
    return f"（{label}）" if contains_cjk(label) else f"[{label}]"


def _with_laughs(text: str, index: int, laughs: tuple[tuple[int, str], ...]) -> str:
    """A sentence with the laughs the script marks around it."""
    marker = laugh_marker
    before = "".join(marker(label) for i, label in laughs if i == -1 and index == 0)
    after = "".join(marker(label) for i, label in laughs if i == index)
    joiner = "" if contains_cjk(text) else " "
    return joiner.join(part for part in (before, text, after) if part)


def _fit(text: str) -> list[str]:
    limit = LINE_WIDTH * MAX_LINES
    if display_width(text) <= limit:
        return [text]
    parts = (part for clause in split_clauses(text) for part in _hard_split(clause, limit))
    return pack(parts, limit, display_width)


def _hard_split(text: str, limit: int) -> list[str]:
    return [text] if display_width(text) <= limit else wrap(text, limit)


def wrap(text: str, width: int = LINE_WIDTH) -> list[str]:
    """Break text into lines of at most ``width`` columns: Latin at spaces, Chinese anywhere
    except before punctuation."""
    lines: list[str] = []
    current = ""
    for token in _tokens(text):
        candidate = (current + token) if current else token.lstrip()
        if current and display_width(candidate.rstrip()) > width:
            lines.append(current.rstrip())
            current = token.lstrip()
        else:
            current = candidate
    if current.strip():
        lines.append(current.rstrip())
    return lines


_NO_LINE_START = set("，。！？；：、）》」』”’,.!?;:)]")


def _tokens(text: str) -> list[str]:
    """Latin words and single Chinese characters, each with the space before it; trailing
    punctuation sticks to the token before it so it never starts a line."""
    tokens: list[str] = []
    word = ""
    space = ""

    def push(token: str) -> None:
        nonlocal space
        tokens.append(space + token)
        space = ""

    for char in text:
        if char.isascii() and not char.isspace() and char not in _NO_LINE_START:
            word += char
            continue
        if word:
            push(word)
            word = ""
        if char.isspace():
            space = " "
        elif char in _NO_LINE_START and tokens and not space:
            tokens[-1] += char
        else:
            push(char)
    if word:
        push(word)
    return tokens


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt_voice(name: str) -> str:
    # a voice annotation ends at '>' and must not carry markup characters
    return _vtt_escape(name).replace(">", "")


def to_vtt(timeline: Timeline) -> str:
    blocks = ["WEBVTT", ""]
    for i, cue in enumerate(cues(timeline), start=1):
        body = "\n".join(_vtt_escape(line) for line in wrap(cue.text))
        blocks.append(str(i))
        blocks.append(f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}")
        blocks.append(f"<v {_vtt_voice(cue.speaker)}>{body}")
        blocks.append("")
    return "\n".join(blocks)


_SRT_INERT = str.maketrans({"<": "‹", ">": "›", "{": "｛", "}": "｝", "\\": "⧵"})
"""SRT has no escapes, yet players obey <i>, <b>, <font color=...> and ASS override blocks
such as {\\an8} (moves the line to the top) found in the text: the characters that open
them are swapped for look-alikes, so a script's text is shown as written and never obeyed."""


def _srt_text(text: str) -> str:
    return text.translate(_SRT_INERT)


def to_srt(timeline: Timeline) -> str:
    blocks = []
    for i, cue in enumerate(cues(timeline), start=1):
        lines = wrap(_srt_text(f"{cue.speaker}: {cue.text}"))
        blocks.append(
            f"{i}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n"
            + "\n".join(lines)
            + "\n"
        )
    return "\n".join(blocks)


def to_json(timeline: Timeline) -> str:
    """Podcast Index transcript JSON, version 1.0.0."""
    segments = [
        {"speaker": c.speaker, "startTime": round(c.start, 3), "endTime": round(c.end, 3),
         "body": c.text}
        for c in cues(timeline)
    ]
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, indent=1)


def chapters_json(timeline: Timeline) -> str:
    """Podcast Index chapters JSON, version 1.2.0."""
    chapters = [
        {"startTime": round(c.start, 3), "endTime": round(c.end, 3), "title": c.title}
        for c in timeline.chapters
    ]
    return json.dumps({"version": "1.2.0", "chapters": chapters}, ensure_ascii=False, indent=1)
