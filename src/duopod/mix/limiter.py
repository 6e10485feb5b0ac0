"""A look-ahead limiter that keeps the true peak under the ceiling, chunk by chunk with a
margin of context on each side."""

from __future__ import annotations

import numpy as np

from ..audio.decode import SAMPLE_RATE
from ..audio.dsp import moving_average, running_minimum
from .peak import oversampled_peak, runs

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
    # The hot stretches, each with a margin of the samples its interpolation reaches, are
    # oversampled in one pass over their concatenation (the margins absorb the seams).
    margin = 64
    stretches = []
    for first, last in runs(hot_blocks):
        lo, hi = first * _BLOCK, min(n, (last + 1) * _BLOCK)
        stretches.append((lo, hi, max(0, lo - margin), min(n, hi + margin)))
    peaks = oversampled_peak(np.concatenate([data[a:b] for _lo, _hi, a, b in stretches]))
    start = 0
    for lo, hi, a, b in stretches:
        stretch = peaks[start + lo - a : start + hi - a]
        required[lo:hi] = np.minimum(1.0, ceiling / np.maximum(stretch, 1e-9))
        start += b - a
    if required.min() >= 1.0:
        return required
    return gain_curve(required)


def gain_curve(required: np.ndarray, lookahead: int = LIMITER_LOOKAHEAD) -> np.ndarray:
    """The limiter's gain per sample from the gain each sample requires: held over the
    look-ahead window and smoothed, never above the requirement. (``lookahead`` in the
    array's own units, for a curve estimated on blocks of samples.)

    The hold and the average reach at most ``2 * lookahead`` samples from a sample that
    needs less than unity, so the curve is worked out only around those (usually a small
    part of a chunk) and is exactly 1 elsewhere (``required`` is never above 1)."""
    reach = 2 * lookahead + 2
    curve = required.astype(np.float32)
    limited = np.flatnonzero(required < 1.0)
    if limited.size == 0:
        return curve
    for first, last in runs(limited, apart=2 * reach):
        lo, hi = max(0, first - reach), min(len(required), last + reach + 1)
        held = running_minimum(curve[lo:hi], 2 * lookahead + 1)
        smooth = moving_average(held, lookahead + 1)
        np.minimum(smooth, curve[lo:hi], out=curve[lo:hi])
    return curve
