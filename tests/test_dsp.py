"""duopod's numpy filters give scipy's numbers (they exist so that a build need not import
scipy.signal or scipy.ndimage), and an offline build loads neither."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from conftest import MANDARIN, copy_show
from pyloudnorm.iirfilter import IIRfilter
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, oaconvolve, sosfilt

from duopod.audio.decode import SAMPLE_RATE
from duopod.audio.dsp import convolve, convolve_same, lowpass_taps, moving_average, running_minimum
from duopod.audio.loudness import LoudnessMeter, integrated_loudness, k_weighting_sections
from duopod.mix.master import LOWPASS_HZ, LOWPASS_TAPS, _lowpass_taps
from duopod.mix.peak import _interpolator

RNG = np.random.default_rng(20261123)


def test_lowpass_designs_are_firwins() -> None:
    assert np.array_equal(_lowpass_taps(),
                          firwin(LOWPASS_TAPS, LOWPASS_HZ, fs=SAMPLE_RATE).astype(np.float32))
    assert np.array_equal(_interpolator(),
                          (4 * firwin(97, 0.25, window=("kaiser", 5.0))).astype(np.float32))
    hann = lowpass_taps(31, 0.3, np.hanning(31))
    assert np.allclose(hann, firwin(31, 0.3, window="hann"), rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", [(1,), (7,), (300,), (40_000,), (70_000, 2),
                                   (441_000 + 2 * 769, 1)])
def test_convolution_is_scipys(shape: tuple[int, ...]) -> None:
    signal = RNG.standard_normal(shape).astype(np.float32)
    taps = _lowpass_taps()
    column = taps if len(shape) == 1 else taps[:, None]
    for mine, mode in ((convolve, "full"), (convolve_same, "same")):
        expected = oaconvolve(signal, column, mode=mode, axes=0)
        got = mine(signal, taps)
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.abs(got - expected).max() < 1e-5


def test_empty_audio_filters_to_empty_audio() -> None:
    from duopod.audio.decode import resample

    taps = _lowpass_taps()
    for shape in ((0,), (0, 2)):
        silence = np.zeros(shape, dtype=np.float32)
        assert convolve_same(silence, taps).shape == shape
        assert resample(silence, 22_050).shape == shape  # an empty 22.05 kHz WAV
    assert running_minimum(np.zeros(0, dtype=np.float32), 3).shape == (0,)
    assert moving_average(np.zeros(0, dtype=np.float32), 4).shape == (0,)


def test_convolution_with_a_response_longer_than_a_block() -> None:
    signal = RNG.standard_normal(100_000)
    taps = RNG.standard_normal(40_000)
    assert np.allclose(convolve(signal, taps), np.convolve(signal, taps), rtol=0, atol=1e-8)


def test_k_weighting_is_pyloudnorms_filter() -> None:
    stages = (IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, SAMPLE_RATE, "high_shelf"),
              IIRfilter(0.0, 0.5, 38.0, SAMPLE_RATE, "high_pass"))
    theirs = np.array([np.concatenate([f.b, f.a]) / f.a[0] for f in stages])
    mine = k_weighting_sections()
    assert np.allclose(mine / mine[:, 3:4], theirs, rtol=1e-13, atol=0)
    # the meter's FIR is the recursive filter, sample for sample
    signal = RNG.standard_normal(3 * SAMPLE_RATE)
    meter = LoudnessMeter()
    meter.add(signal)
    steps = sosfilt(theirs, signal)[: len(meter.steps()) * 4410].reshape(-1, 4410)
    assert np.allclose(meter.steps(), np.mean(steps**2, axis=1), rtol=1e-12, atol=0)


@pytest.mark.parametrize("channels", [1, 2])
def test_integrated_loudness_is_pyloudnorms(channels: int) -> None:
    envelope = np.repeat(RNG.uniform(0.01, 0.5, 40), SAMPLE_RATE // 4)[:, None]
    signal = RNG.standard_normal((len(envelope), channels)) * envelope
    theirs = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(
        signal[:, 0] if channels == 1 else signal)
    assert integrated_loudness(signal, channels) == pytest.approx(theirs, abs=1e-9)


def test_running_minimum_and_moving_average_are_ndimages() -> None:
    for length in (1, 2, 9, 353, 354, 10_001):
        values = RNG.random(length).astype(np.float32)
        for size in (1, 3, 35, 353):
            assert np.array_equal(running_minimum(values, size),
                                  minimum_filter1d(values, size, mode="nearest"))
        for size in (1, 2, 18, 177):
            average = moving_average(values, size)
            assert average.dtype == np.float32
            assert np.allclose(average, uniform_filter1d(values, size, mode="nearest"),
                               rtol=0, atol=1e-6)


def test_whole_number_upsampling_is_resample_polys() -> None:
    from scipy.signal import resample_poly

    from duopod.audio.decode import resample

    for length in (1, 2, 5, 22_050 + 7):
        for shape in ((length,), (length, 2)):
            samples = RNG.standard_normal(shape).astype(np.float32)
            for rate in (22_050, 14_700):  # espeak-ng's rate, and a factor of three
                mine = resample(samples, rate)
                theirs = resample_poly(samples, SAMPLE_RATE // rate, 1, axis=0)
                assert mine.shape == theirs.shape and mine.dtype == np.float32
                assert np.abs(mine - theirs).max() < 1e-5


PROBE = """
import sys
from duopod.cli.app import main
sys.argv = ["duopod", "build", "scripts/{script}", "--engine", "espeak", *{extra}]
try:
    main()
except SystemExit as stop:
    assert not stop.code, stop.code
print("LOADED", " ".join(sorted(m for m in sys.modules if m.startswith("scipy."))))
"""


@pytest.mark.slow
@pytest.mark.parametrize("cached", [True, False], ids=["warm", "cold"])
def test_an_offline_build_loads_neither_scipy_signal_nor_ndimage(
        tmp_path: Path, built_show: Path, cached: bool) -> None:
    """scipy.signal takes about a second to import: a fifth of a warm rebuild, half of the
    offline engine's render of the example."""
    show = copy_show(tmp_path / "show")
    if cached:
        shutil.copytree(built_show / ".duopod", show / ".duopod")  # the rendered speech
    probe = PROBE.format(script=MANDARIN, extra=[] if cached else ["--no-cache"])
    result = subprocess.run([sys.executable, "-c", probe],
                            cwd=show, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert ("0 rendered, 35 cached" if cached else "35 rendered, 0 cached") in result.stdout
    line = next(line for line in result.stdout.splitlines() if line.startswith("LOADED"))
    loaded = set(line.split()[1:])
    assert not {m for m in loaded if m.split(".")[1] in ("signal", "ndimage")}, loaded


def test_the_limiters_gain_curve_is_worked_out_only_where_it_bends() -> None:
    """Held and smoothed only around the samples that need less than unity: the same curve
    as holding and smoothing the whole chunk."""
    from duopod.mix.limiter import gain_curve

    for _trial in range(200):
        length, lookahead = int(RNG.integers(1, 5000)), int(RNG.integers(1, 200))
        required = np.ones(length, dtype=np.float32)
        for _dip in range(int(RNG.integers(0, 6))):
            a = int(RNG.integers(0, length))
            b = min(length, a + int(RNG.integers(1, 300)))
            required[a:b] = np.minimum(required[a:b], RNG.uniform(0.3, 1.0, b - a))
        held = minimum_filter1d(required, 2 * lookahead + 1, mode="nearest")
        smooth = uniform_filter1d(held, lookahead + 1, mode="nearest")
        expected = np.minimum(smooth, required).astype(np.float32)
        assert np.abs(gain_curve(required, lookahead) - expected).max() < 1e-6


MUSIC_PROBE = """
import sys
from pathlib import Path
import numpy as np
from duopod.audio.decode import decode_file
music = decode_file(Path(sys.argv[1]))
peak_hz = np.fft.rfftfreq(len(music), 1 / 44100)[np.argmax(np.abs(np.fft.rfft(music)))]
print(len(music), round(float(peak_hz)), "scipy.signal" in sys.modules)
"""


def test_music_at_48_khz_is_converted_by_ffmpeg_not_scipy(tmp_path: Path) -> None:
    import wave

    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(96_000) / 48_000)
    pcm = np.repeat((tone * 32767).astype("<i2"), 2)  # two seconds of stereo
    with wave.open(str(tmp_path / "intro.wav"), "wb") as music:
        music.setnchannels(2)
        music.setsampwidth(2)
        music.setframerate(48_000)
        music.writeframes(pcm.tobytes())
    result = subprocess.run([sys.executable, "-c", MUSIC_PROBE, str(tmp_path / "intro.wav")],
                            capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.split() == ["88200", "440", "False"]
