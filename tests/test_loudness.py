"""The BS.1770 meter against known answers."""

from __future__ import annotations

import numpy as np
import pytest

from duopod.audio.decode import SAMPLE_RATE
from duopod.audio.loudness import LoudnessMeter, integrated_loudness


def sine(db: float, seconds: float = 5.0, hz: float = 997.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (10 ** (db / 20) * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_a_full_scale_997_hz_sine_reads_minus_3_lufs() -> None:
    # BS.1770's reference: a 0 dBFS 997 Hz sine in one channel measures -3.01 LKFS
    assert integrated_loudness(sine(0.0)) == pytest.approx(-3.01, abs=0.05)


def test_loudness_follows_level_and_ignores_silence() -> None:
    quiet = integrated_loudness(sine(-20.0))
    assert quiet == pytest.approx(-23.01, abs=0.05)
    padded = np.concatenate([np.zeros(SAMPLE_RATE * 5, dtype=np.float32), sine(-20.0)])
    # the silence is gated out; only the blocks straddling the edge pull a little
    assert integrated_loudness(padded) == pytest.approx(quiet, abs=0.2)


def test_chunked_measurement_equals_one_pass() -> None:
    signal = sine(-12.0, seconds=7.3, hz=440.0)
    meter = LoudnessMeter()
    for start in range(0, len(signal), 12_345):
        meter.add(signal[start : start + 12_345])
    assert meter.integrated() == pytest.approx(integrated_loudness(signal), abs=1e-6)
