"""What the mix needs to know of a turn's audio (where it starts and ends, how loud it is
every 100 ms), computed once when the turn is rendered and cached with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..audio.decode import as_float, trim_bounds
from ..audio.loudness import LoudnessMeter


@dataclass(frozen=True)
class SpeechAnalysis:
    """Trim bounds and loudness profile of one turn's audio."""

    trim_start: int
    trim_end: int
    """The samples worth hearing: [trim_start, trim_end)."""
    steps: np.ndarray
    """K-weighted mean square per 100 ms of the trimmed audio (for loudness)."""


def analyse(samples: ArrayLike) -> SpeechAnalysis:
    """Trim bounds and loudness steps of a turn's audio (cached with the speech)."""
    samples = np.asarray(samples)
    lo, hi = trim_bounds(samples)
    meter = LoudnessMeter()
    if hi > lo:
        meter.add(as_float(samples[lo:hi]))
    return SpeechAnalysis(lo, hi, meter.steps())


