"""Loudness (ITU-R BS.1770 / EBU R128) measured chunk by chunk, in bounded memory: speech
uses it to profile each rendered turn, the mix to level turns and master the episode."""

from __future__ import annotations

import numpy as np

from .audio import SAMPLE_RATE

STEP = SAMPLE_RATE // 10
"""100 ms: the gating blocks' hop; a 400 ms block is four steps."""


class LoudnessMeter:
    """Feed chunks (n,) or (n, channels) in order; read ``integrated()`` at the end."""

    def __init__(self, rate: int = SAMPLE_RATE, channels: int = 1):
        # scipy.signal takes longer to import than `duopod check` takes to run: load on use
        from pyloudnorm.iirfilter import IIRfilter
        from scipy.signal import sosfilt_zi

        shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf")
        high_pass = IIRfilter(0.0, 0.5, 38.0, rate, "high_pass")
        # the two K-weighting stages as second-order sections: sosfilt lets other threads
        # run while it filters (lfilter holds the GIL), and the meter runs beside others:
        # the encoder trial's while the turns are balanced, the render's turn analyses
        self._sections = np.array([np.concatenate([f.b, f.a]) / f.a[0]
                                   for f in (shelf, high_pass)])
        self._state = np.zeros((channels, *sosfilt_zi(self._sections).shape))
        self._channels = channels
        self._pending = np.zeros((0, channels))
        self._step_power: list[np.ndarray] = []

    def add(self, chunk: np.ndarray) -> None:
        from scipy.signal import sosfilt

        chunk = chunk.reshape(len(chunk), -1).astype(np.float64)
        weighted = np.empty_like(chunk)
        for ch in range(self._channels):
            weighted[:, ch], self._state[ch] = sosfilt(self._sections, chunk[:, ch],
                                                       zi=self._state[ch])
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
