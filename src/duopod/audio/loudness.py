"""Loudness (ITU-R BS.1770 / EBU R128) measured chunk by chunk, in bounded memory: speech
uses it to profile each rendered turn, the mix to level turns and master the episode."""

from __future__ import annotations

from functools import cache

import numpy as np

from .decode import SAMPLE_RATE
from .dsp import biquad_impulse_response, convolve

STEP = SAMPLE_RATE // 10
"""100 ms: the gating blocks' hop; a 400 ms block is four steps."""


K_WEIGHTING_TAPS = 8192
"""Samples of the K-weighting's impulse response kept: its 38 Hz high-pass decays to
1e-20 of its peak by then, so the FIR is the recursive filter to within rounding."""


def k_weighting_sections(rate: int = SAMPLE_RATE) -> np.ndarray:
    """BS.1770's two K-weighting stages at ``rate`` as second-order sections (rows
    ``b0 b1 b2 a0 a1 a2``): a +4 dB high shelf at 1.5 kHz, then a 38 Hz high-pass, both
    from the RBJ cookbook's formulas (so the stages hold at any sample rate)."""
    shelf_gain = 10 ** (4.0 / 40)
    w0 = 2 * np.pi * 1500.0 / rate
    cos, alpha, root = np.cos(w0), np.sin(w0) / (2 / np.sqrt(2)), np.sqrt(shelf_gain)
    plus, minus = shelf_gain + 1, shelf_gain - 1
    shelf = [shelf_gain * (plus + minus * cos + 2 * root * alpha),
             -2 * shelf_gain * (minus + plus * cos),
             shelf_gain * (plus + minus * cos - 2 * root * alpha),
             plus - minus * cos + 2 * root * alpha,
             2 * (minus - plus * cos),
             plus - minus * cos - 2 * root * alpha]
    w0 = 2 * np.pi * 38.0 / rate
    cos, alpha = np.cos(w0), np.sin(w0) / (2 * 0.5)
    high_pass = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha]
    return np.array([shelf, high_pass])


@cache
def _k_weighting(rate: int) -> np.ndarray:
    return biquad_impulse_response(k_weighting_sections(rate), K_WEIGHTING_TAPS)


class LoudnessMeter:
    """Feed chunks (n,) or (n, channels) in order; read ``integrated()`` at the end."""

    def __init__(self, rate: int = SAMPLE_RATE, channels: int = 1):
        self._response = _k_weighting(rate)
        # the last input samples, which the next chunk's first outputs still hear
        self._history = np.zeros((len(self._response) - 1, channels))
        self._channels = channels
        self._pending = np.zeros((0, channels))
        self._step_power: list[np.ndarray] = []

    def add(self, chunk: np.ndarray) -> None:
        chunk = chunk.reshape(len(chunk), -1).astype(np.float64)
        heard = np.concatenate([self._history, chunk])
        reach = len(self._history)
        weighted = convolve(heard, self._response)[reach : reach + len(chunk)]
        self._history = heard[len(heard) - reach :]
        data = np.concatenate([self._pending, weighted])
        usable = (len(data) // STEP) * STEP
        if usable:
            steps = data[:usable].reshape(-1, STEP, self._channels)
            self._step_power.append(np.mean(steps**2, axis=1).sum(axis=1))
        self._pending = data[usable:]

    def steps(self) -> np.ndarray:
        """Mean square of the K-weighted signal per 100 ms step (channels summed)."""
        return np.concatenate(self._step_power) if self._step_power else np.zeros(0)

    def integrated(self) -> float:
        return integrated_from_steps(self.steps())


def integrated_from_steps(steps: np.ndarray) -> float:
    """Gated integrated loudness (LUFS) from 100 ms K-weighted step powers."""
    if len(steps) < 4:
        return float("-inf")
    blocks = (steps[:-3] + steps[1:-2] + steps[2:-1] + steps[3:]) / 4
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10 * np.log10(blocks)
    above_absolute = blocks[block_lufs > -70]
    if above_absolute.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(above_absolute.mean()) - 10
    gated = blocks[(block_lufs > -70) & (block_lufs > relative)]
    return float(-0.691 + 10 * np.log10(gated.mean()))


def integrated_loudness(samples: np.ndarray, channels: int = 1) -> float:
    """Integrated loudness (LUFS) of a whole array of samples, (n,) or (n, channels)."""
    meter = LoudnessMeter(channels=channels)
    meter.add(samples)
    return meter.integrated()
