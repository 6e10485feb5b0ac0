"""True peak (4x oversampled, as ITU-R BS.1770 measures it) and a look-ahead limiter that
keeps it under the ceiling, chunk by chunk with a margin of context on each side."""

from __future__ import annotations

from functools import cache

import numpy as np

from ..audio import SAMPLE_RATE

_OVERSAMPLE = 4


@cache
def _interpolator() -> np.ndarray:
    """The 4x interpolation filter (designed once): linear phase, cut-off at the old Nyquist."""
    from scipy.signal import firwin

    taps = firwin(2 * 12 * _OVERSAMPLE + 1, 1 / _OVERSAMPLE, window=("kaiser", 5.0))
    return (taps * _OVERSAMPLE).astype(np.float32)


def oversampled_peak(samples: np.ndarray) -> np.ndarray:
    """Per-sample absolute peak of the 4x oversampled signal (max over channels)."""
    data = samples.reshape(len(samples), -1).astype(np.float32, copy=False)
    from scipy.signal import upfirdn

    taps = _interpolator()
    delay = (len(taps) - 1) // 2
    peaks = None
    for channel in data.T:  # 1-D per channel: numpy reduces those far faster
        up = np.abs(upfirdn(taps, channel, up=_OVERSAMPLE))[delay : delay + len(data) * _OVERSAMPLE]
        channel_peaks = up[0::_OVERSAMPLE].copy()
        for phase in range(1, _OVERSAMPLE):  # strided maxima beat a reduce over a short axis
            np.maximum(channel_peaks, up[phase::_OVERSAMPLE], out=channel_peaks)
        peaks = channel_peaks if peaks is None else np.maximum(peaks, channel_peaks)
    assert peaks is not None
    return peaks


def true_peak_db(samples: np.ndarray) -> float:
    peak = float(oversampled_peak(samples).max()) if len(samples) else 0.0
    return 20 * np.log10(max(peak, 1e-9))


LIMITER_MARGIN_DB = 0.4
"""The limiter's ceiling sits this far under the true-peak target (encoding adds a little)."""
LIMITER_LOOKAHEAD = int(0.004 * SAMPLE_RATE)
LIMITER_CONTEXT = 4 * LIMITER_LOOKAHEAD + 64
"""Samples of neighbouring audio ``limit`` needs on each side of a chunk to be seamless."""


_BLOCK = 1024
_HEADROOM = 10 ** (-2.5 / 20)
"""Blocks whose sample peak is under the ceiling by more than this cannot hold a true peak
over it (after the 16 kHz low-pass, inter-sample overshoot stays well under 2.5 dB), so
only the others are oversampled."""


def limit(samples_with_context: np.ndarray, ceiling_db: float) -> np.ndarray:
    """Gain-reduce so the true peak stays under ``ceiling_db``; returns the gain per sample.

    The required gain is spread over a 4 ms look-ahead window (minimum filter, then a
    moving average of half its width), which never exceeds the requirement at a peak and
    ramps smoothly instead of clipping.
    """
    ceiling = 10 ** (ceiling_db / 20)
    data = samples_with_context.reshape(len(samples_with_context), -1)
    n = len(data)
    sample_peak = np.abs(data[:, 0]) if data.shape[1] == 1 else np.abs(data).max(axis=1)
    padded = np.pad(sample_peak, (0, -n % _BLOCK))
    hot_blocks = np.flatnonzero(padded.reshape(-1, _BLOCK).max(axis=1) > ceiling * _HEADROOM)
    required = np.ones(n, dtype=np.float32)
    if hot_blocks.size == 0:
        return required
    margin = 64
    for first, last in _runs(hot_blocks):
        lo, hi = first * _BLOCK, min(n, (last + 1) * _BLOCK)
        a, b = max(0, lo - margin), min(n, hi + margin)
        peaks = oversampled_peak(data[a:b])[lo - a : hi - a]
        required[lo:hi] = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9))
    if required.min() >= 1.0:
        return required
    return gain_curve(required)


def gain_curve(required: np.ndarray, lookahead: int = LIMITER_LOOKAHEAD) -> np.ndarray:
    """The limiter's gain per sample from the gain each sample requires: held over the
    look-ahead window and smoothed, never above the requirement. (``lookahead`` in the
    array's own units, for a curve estimated on blocks of samples.)"""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    held = minimum_filter1d(required, size=2 * lookahead + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=lookahead + 1, mode="nearest")
    return np.minimum(smooth, required).astype(np.float32)


def _runs(indexes: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs in a sorted index array, as (first, last) pairs."""
    breaks = np.flatnonzero(np.diff(indexes) > 1)
    firsts = np.concatenate([[indexes[0]], indexes[breaks + 1]])
    lasts = np.concatenate([indexes[breaks], [indexes[-1]]])
    return list(zip(firsts.tolist(), lasts.tolist(), strict=True))
