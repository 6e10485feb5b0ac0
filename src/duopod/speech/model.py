"""What the speech stage hands on: each turn's ``Speech`` (audio plus sentence timings)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio import SAMPLE_RATE
from ..script.model import Turn
from .analysis import SpeechAnalysis


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

    samples: np.ndarray
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
