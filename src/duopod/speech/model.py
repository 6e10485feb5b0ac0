"""What the speech stage hands on: each turn's ``Speech`` (audio plus sentence timings)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..audio.decode import SAMPLE_RATE
from ..script.model import Turn
from .analysis import SpeechAnalysis

if TYPE_CHECKING:
    from .pcm import PcmFile


@dataclass(frozen=True)
class SentenceSpan:
    """A sentence and where it is heard, in seconds (relative to its owner's start)."""

    text: str
    start: float
    end: float


@dataclass
class Speech:
    """One turn's audio (mono at SAMPLE_RATE: float32 in [-1, 1] from an engine, 16-bit PCM
    read lazily from the cache once stored there) plus its sentence timings."""

    samples: np.ndarray | PcmFile
    sentences: list[SentenceSpan]
    analysis: SpeechAnalysis | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass
class RenderedTurn:
    turn: Turn
    speech: Speech
    cached: bool = False


def spans_by_characters(text: str, sentences: Sequence[str], marks: Sequence[SentenceSpan],
                        duration: float) -> list[SentenceSpan]:
    """One span per sentence of ``sentences`` (which appear in order in ``text``), from timed
    ``marks`` over the same text that an engine may have cut differently (a service's own
    sentence boundaries). A sentence's start is interpolated by character position between
    the marks' starts, its end between the marks' ends; with no marks, by position over
    ``duration``."""
    starts, ends = _mark_points(text, marks, duration)
    spans: list[SentenceSpan] = []
    cursor = 0
    for sentence in sentences:
        found = text.find(sentence, cursor)
        first = found if found >= 0 else cursor
        cursor = first + len(sentence) if found >= 0 else cursor
        start = _interpolate(starts, first)
        end = max(start, _interpolate(ends, first + len(sentence)))
        spans.append(SentenceSpan(sentence, start, end))
    return spans


def _mark_points(text: str, marks: Sequence[SentenceSpan], duration: float
                 ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(character, time) points where the marks start and where they end."""
    starts: list[tuple[int, float]] = [(0, 0.0)]
    ends: list[tuple[int, float]] = [(0, 0.0)]
    cursor = 0
    for mark in marks:
        words = mark.text.strip()
        found = text.find(words, cursor) if words else -1
        if found < 0:
            continue
        cursor = found + len(words)
        starts.append((found, mark.start))
        ends.append((cursor, mark.end))
    starts.append((len(text), duration))
    ends.append((len(text), duration))
    return starts, ends


def _interpolate(points: list[tuple[int, float]], at: int) -> float:
    chars = np.array([p[0] for p in points], dtype=np.float64)
    times = np.maximum.accumulate(np.array([p[1] for p in points], dtype=np.float64))
    return float(np.interp(at, chars, times))


SENTENCE_PAUSE = 0.3
"""Seconds between two sentences of a turn for engines that speak one sentence at a time."""


def joined_sentences(sentences: Sequence[str], audio: Sequence[np.ndarray], engine: str
                     ) -> Speech:
    """A turn from its sentences' audio (float32 at SAMPLE_RATE, trimmed), end to end with a
    short pause between, each timed exactly; a sentence with nothing to say gets an empty
    span where it stands. ``engine`` names who made nothing audible at all."""
    pause = np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    spans: list[SentenceSpan] = []
    cursor = 0
    for sentence, piece in zip(sentences, audio, strict=True):
        if piece.size and pieces:
            pieces.append(pause)
            cursor += pause.size
        spans.append(SentenceSpan(sentence, cursor / SAMPLE_RATE,
                                  (cursor + piece.size) / SAMPLE_RATE))
        if piece.size:
            pieces.append(piece)
            cursor += piece.size
    if not pieces:
        from ..errors import EngineError

        raise EngineError(f"{engine} produced no audible speech")
    return Speech(np.concatenate(pieces), spans)
