"""True peak, as ITU-R BS.1770 measures it: the signal interpolated to four times its
sample rate, sample by sample for the limiter (``oversampled_peak``), or the highest point
of a stretch for the meter (``true_peak``, which interpolates only where that can be)."""

from __future__ import annotations

from functools import cache

import numpy as np

_OVERSAMPLE = 4


@cache
def _interpolator() -> np.ndarray:
    """The 4x interpolation filter (designed once): linear phase, cut-off at the old Nyquist."""
    from scipy.signal import firwin

    taps = firwin(2 * 12 * _OVERSAMPLE + 1, 1 / _OVERSAMPLE, window=("kaiser", 5.0))
    return (taps * _OVERSAMPLE).astype(np.float32)


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
    return 20 * np.log10(max(peak, 1e-9))


_BLOCK = 1024
"""Samples per block when deciding which stretches can hold the true peak."""
_REACH = 32
"""Context taken on each side of a stretch (the interpolation reaches 12 samples)."""


@cache
def _overshoot_bound() -> float:
    """How far the interpolated signal can rise over the samples it is made of: a point
    between samples is a sum of 24 samples times a branch's taps, so it is at most their
    peak times the sum of those taps' magnitudes (2.36, 7.4 dB)."""
    centre_gain, branches = _between_samples()
    return max(centre_gain, float(np.abs(branches).sum(axis=0).max()))


def true_peak(samples: np.ndarray, start: int = 0, end: int | None = None) -> float:
    """The true peak (linear, max over channels) of ``samples[start:end]``, the samples
    around that stretch serving as the context its interpolation reaches into.

    The answer is the maximum ``oversampled_peak`` gives, but only blocks that could beat
    the loudest block's peak are interpolated: a block whose samples (and the dozen on each
    side its interpolation uses) stay under that peak divided by ``_overshoot_bound``
    cannot, a bound rather than an estimate. In mastered speech that skips about two
    blocks in five."""
    data = samples.reshape(len(samples), -1)
    end = len(data) if end is None else end
    if end <= start:
        return 0.0
    def magnitude(a: int, b: int) -> np.ndarray:
        part = data[max(0, a) : b]
        return np.abs(part[:, 0]) if part.shape[1] == 1 else np.abs(part).max(axis=1)

    blocks = -(-(end - start) // _BLOCK)
    padded = np.zeros(blocks * _BLOCK, dtype=np.float32)
    padded[: end - start] = magnitude(start, end)
    own = padded.reshape(blocks, _BLOCK).max(axis=1)
    reach = own.copy()  # a block's interpolation reaches 12 samples into its neighbours
    np.maximum(reach[1:], own[:-1], out=reach[1:])
    np.maximum(reach[:-1], own[1:], out=reach[:-1])
    reach[0] = max(reach[0], float(magnitude(start - _REACH, start).max(initial=0)))
    reach[-1] = max(reach[-1], float(magnitude(end, end + _REACH).max(initial=0)))

    def peak_of(runs: list[tuple[int, int]]) -> float:
        """The highest interpolated point of these runs of blocks, oversampled in one pass
        over their concatenation (each with its context: the seams fall in the context)."""
        pieces, inner = [], []
        for first, last in runs:
            a, b = start + first * _BLOCK, min(end, start + (last + 1) * _BLOCK)
            lo, hi = max(0, a - _REACH), min(len(data), b + _REACH)
            pieces.append(data[lo:hi])
            inner.append((a - lo, b - lo, hi - lo))
        peaks = oversampled_peak(np.concatenate(pieces))
        best, offset = 0.0, 0
        for a, b, length in inner:
            best = max(best, float(peaks[offset + a : offset + b].max()))
            offset += length
        return best

    loudest = int(own.argmax())
    best = peak_of([(loudest, loudest)])
    could_beat = _runs(np.flatnonzero(reach * _overshoot_bound() > best))
    return max(best, peak_of(could_beat)) if could_beat else best


def _runs(indexes: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs in a sorted index array, as (first, last) pairs."""
    if indexes.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indexes) > 1)
    firsts = np.concatenate([[indexes[0]], indexes[breaks + 1]])
    lasts = np.concatenate([indexes[breaks], [indexes[-1]]])
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))
