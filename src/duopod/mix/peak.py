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
