"""True peak, as ITU-R BS.1770 measures it: the signal interpolated to four times its
sample rate, for the limiter. (The encoded file is measured by ffmpeg's ebur128.)"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..audio.dsp import interpolation_taps

_OVERSAMPLE = 4


@cache
def _interpolator() -> np.ndarray:
    """The 4x interpolation filter (designed once): linear phase, cut-off at the old Nyquist."""
    return interpolation_taps(_OVERSAMPLE, 12).astype(np.float32)


@cache
def _between_samples() -> tuple[float, np.ndarray]:
    """The interpolator split into its polyphase branches: the gain of the branch that
    lands on the original samples (a windowed sinc is zero at every fourth tap but the
    centre, so that branch is one tap), and the three 24-tap branches for the points
    between two samples, as the columns of one matrix (row ``k``: the weights of the
    ``k``-th sample of a 24-sample window)."""
    taps = _interpolator()
    centre = (len(taps) - 1) // 2
    branches = [taps[phase::_OVERSAMPLE] for phase in range(1, _OVERSAMPLE)]
    assert centre % _OVERSAMPLE == 0 and len({len(b) for b in branches}) == 1
    return float(taps[centre]), np.ascontiguousarray(np.stack(branches, axis=1)[::-1])


_SLICE = 16_384
"""Samples interpolated at a time (the working arrays stay in the CPU cache)."""


def oversampled_peak(samples: np.ndarray) -> np.ndarray:
    """Per-sample absolute peak of the 4x oversampled signal (max over channels): the
    sample itself and the three interpolated points after it, each a 24-tap sum of shifted
    samples: the same numbers as upsampling with the whole filter, at a third of the work.
    (Plain array arithmetic, not a matrix product: BLAS threads would spin on the cores
    the encoder needs.)"""
    data = samples.reshape(len(samples), -1).astype(np.float32, copy=False)
    centre_gain, branches = _between_samples()
    width = len(branches)
    before = width // 2 - 1  # the points after sample n use samples n-11 .. n+12
    peaks = np.zeros(len(data), dtype=np.float32)
    for channel in data.T:
        padded = np.pad(channel, (before, width - before))
        for a in range(0, len(channel), _SLICE):
            b = min(a + _SLICE, len(channel))
            slice_peaks = peaks[a:b]  # a view: maxima land in ``peaks``
            np.maximum(slice_peaks, np.abs(channel[a:b]) * np.float32(centre_gain),
                       out=slice_peaks)
            points = np.zeros((branches.shape[1], b - a), dtype=np.float32)
            term = np.empty(b - a, dtype=np.float32)
            for tap in range(width):
                shifted = padded[a + tap : b + tap]
                for point, weight in zip(points, branches[tap], strict=True):
                    np.multiply(shifted, weight, out=term)
                    point += term
            for point in points:
                np.maximum(slice_peaks, np.abs(point, out=point), out=slice_peaks)
    return peaks


def true_peak_db(samples: np.ndarray) -> float:
    peak = float(oversampled_peak(samples).max()) if len(samples) else 0.0
    return float(20 * np.log10(max(peak, 1e-9)))


HOT_BLOCK = 1024
"""Samples per block when deciding where a true peak may hide."""
OVERSHOOT = 10 ** (2.5 / 20)
"""How far a band-limited signal's true peak can rise over its sample peak (after the
16 kHz low-pass, and in an MP3, whose encoder cuts higher still: well under 2.5 dB; the
limiter's hot-block rule rests on the same bound)."""
_REACH = 64
"""Samples of context kept on each side of a hot block (the interpolator reaches 12)."""


class TruePeakMeter:
    """The true peak of a stream fed in order, oversampling only the blocks that can hold
    it: a block whose sample peak is under the true peak found so far by more than
    OVERSHOOT cannot raise it, and most of a mastered episode sits there (the limiter
    holds every loud passage near one ceiling). Same figure as oversampling everything."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._tail: np.ndarray | None = None

    def add(self, chunk: np.ndarray) -> None:
        data = chunk.reshape(len(chunk), -1).astype(np.float32, copy=False)
        if not len(data):
            return
        context = data if self._tail is None else np.concatenate([self._tail, data])
        offset = 0 if self._tail is None else len(self._tail)
        self._tail = context[-_REACH:]
        magnitude = np.abs(context).max(axis=1)
        padded = np.pad(magnitude[offset:], (0, -(len(magnitude) - offset) % HOT_BLOCK))
        block_peaks = padded.reshape(-1, HOT_BLOCK).max(axis=1)
        hot = np.flatnonzero(block_peaks * OVERSHOOT >= self.peak)
        for first, last in runs(hot):
            lo = offset + first * HOT_BLOCK
            hi = min(len(context), offset + (last + 1) * HOT_BLOCK)
            a, b = max(0, lo - _REACH), min(len(context), hi + _REACH)
            peaks = oversampled_peak(context[a:b])[lo - a : hi - a]
            self.peak = max(self.peak, float(peaks.max()))

    def dbtp(self) -> float:
        return float(20 * np.log10(max(self.peak, 1e-9)))


def runs(indexes: np.ndarray, apart: int = 1) -> list[tuple[int, int]]:
    """Runs in a sorted index array, as (first, last) pairs: a run ends where the next
    index is more than ``apart`` further on (1: consecutive indexes)."""
    if indexes.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indexes) > apart)
    firsts = np.concatenate([[indexes[0]], indexes[breaks + 1]])
    lasts = np.concatenate([indexes[breaks], [indexes[-1]]])
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))
