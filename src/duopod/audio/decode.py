"""Audio plumbing shared by the stages: decode and encode through pydub, with the ffmpeg
binary from imageio-ffmpeg (never a system ffmpeg or ffprobe), resampling and measuring."""

from __future__ import annotations

import io
import subprocess
import warnings
from functools import cache
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import DuopodError
from .dsp import convolve_same, interpolation_taps

SAMPLE_RATE = 44_100
"""Every stage after the engines works at this sample rate."""


@cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@cache
def audio_segment_class() -> Any:
    """pydub's AudioSegment, pointed at imageio-ffmpeg's binary."""
    with warnings.catch_warnings():
        # pydub warns at import when no system ffmpeg is on PATH; we never use one.
        warnings.simplefilter("ignore", RuntimeWarning)
        from pydub import AudioSegment
    AudioSegment.converter = ffmpeg_exe()
    return AudioSegment


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Float32 samples at ``rate`` to ``target`` (polyphase; axis 0 is time): the numbers of
    ``scipy.signal.resample_poly`` with its default Kaiser window."""
    if rate == target:
        return samples.astype(np.float32, copy=False)
    if target % rate == 0:  # espeak-ng's 22,050 Hz: without importing scipy.signal
        return _upsampled(samples, target // rate)
    from scipy.signal import resample_poly

    g = gcd(target, rate)
    resampled: np.ndarray = resample_poly(samples, target // g, rate // g, axis=0)
    return resampled.astype(np.float32)


def _upsampled(samples: np.ndarray, factor: int) -> np.ndarray:
    """``resample_poly(samples, factor, 1)``: the samples spread ``factor`` apart with zeros
    between, through the same low-pass (cut off at the old Nyquist frequency, ten input
    samples on each side), centred."""
    taps = interpolation_taps(factor, 10)
    spread = np.zeros((len(samples) * factor, *samples.shape[1:]), dtype=np.float32)
    spread[::factor] = samples
    return convolve_same(spread, taps).astype(np.float32, copy=False)


def decode(data: bytes, codec: str) -> np.ndarray:
    """Compressed audio bytes (e.g. MP3) to mono float32 at SAMPLE_RATE."""
    segment_class = audio_segment_class()
    try:
        # Naming the codec keeps pydub from calling ffprobe (which we do not ship).
        segment = segment_class.from_file(io.BytesIO(data), format=codec, codec=codec)
    except Exception as exc:
        raise DuopodError(f"could not decode {codec} audio: {str(exc).splitlines()[0]}") from exc
    return segment_to_array(segment)


MUSIC_FORMATS = (".mp3", ".wav", ".m4a")


def decode_file(path: Path) -> np.ndarray:
    """A music file (MP3, WAV, M4A) as mono float32 at SAMPLE_RATE, decoded by ffmpeg,
    which also converts its rate (music is often 48 kHz; resampling it here would load
    scipy.signal, a second of every build)."""
    if path.suffix.lower() not in MUSIC_FORMATS:
        raise DuopodError(f"{path}: unsupported audio format {path.suffix!r} "
                          f"(use {', '.join(MUSIC_FORMATS)})")
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path),
               "-map", "0:a:0", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip().splitlines()
        raise DuopodError(f"{path}: could not decode: {said[-1] if said else 'ffmpeg failed'}")
    # (ffmpeg mixes a stereo file's channels at -3 dB each; the mix sets the music's level
    # from its measured loudness, so the downmix's own level does not matter)
    return np.frombuffer(result.stdout, dtype=np.float32).copy()


def segment_to_array(segment: Any) -> np.ndarray:
    """A pydub segment to mono float32 at SAMPLE_RATE."""
    width = segment.sample_width
    kinds: dict[int, type[np.signedinteger[Any]]] = {1: np.int8, 2: np.int16, 4: np.int32}
    raw = np.frombuffer(segment.raw_data, dtype=kinds[width])
    scale = float(2 ** (8 * width - 1))
    channels = segment.channels
    audio = raw.astype(np.float32) / scale
    if channels > 1:
        audio = audio.reshape(-1, channels).mean(axis=1)
    return resample(audio, segment.frame_rate)


def as_float(samples: ArrayLike) -> np.ndarray:
    """Samples as float32 in [-1, 1] (a copy): 16-bit PCM is scaled, floats are copied."""
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        return samples.astype(np.float32) * (1 / 32768)
    return samples.astype(np.float32, copy=True)


def to_pcm16(samples: ArrayLike) -> bytes:
    """Float samples in [-1, 1] to 16-bit little-endian PCM bytes, clipped."""
    clipped = np.clip(samples, -1.0, 32767 / 32768)
    return (clipped * 32768.0).astype("<i2").tobytes()


SILENCE = 0.004
"""Amplitude (of full scale) under which engine output counts as silence."""


def trim_bounds(samples: np.ndarray, pad_seconds: float = 0.03) -> tuple[int, int]:
    """First and last sample worth hearing, with a short pad; (0, 0) for silence.
    Works on float samples and on 16-bit PCM."""
    samples = np.asarray(samples)
    threshold = SILENCE * (32768 if samples.dtype == np.int16 else 1.0)
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return 0, 0
    pad = int(pad_seconds * SAMPLE_RATE)
    return max(0, int(loud[0]) - pad), min(len(samples), int(loud[-1]) + pad)
