"""The ffmpeg processes behind mastering: the MP3 encoder, fed PCM through a pipe; the
trial that encodes and decodes excerpts to learn what the encoder does to loudness and
peaks; and the meter that reads an encoded file's loudness and true peak (ebur128) when
the mastering's own figures leave too thin a margin. ffmpeg comes from imageio-ffmpeg,
never from the system."""

from __future__ import annotations

import contextlib
import fcntl
import re
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from ..audio import SAMPLE_RATE, ffmpeg_exe, to_pcm16
from ..errors import DuopodError
from ..loudness import integrated_loudness


@dataclass(frozen=True)
class Measurement:
    loudness_lufs: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class CodecEffect:
    """What the encoder did to excerpts of the master: LU added to their loudness (an MP3
    at a low bitrate drops some of the energy the loudness weighting counts) and dB added
    to their true peak."""

    loudness_shift: float = 0.0
    peak_rise: float = 0.0


def codec_effect(excerpt: np.ndarray, channels: int, bitrate_kbps: int) -> CodecEffect:
    """Encode ``excerpt`` at the episode's settings, decode it and compare."""
    from .peak import true_peak

    command = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(channels), "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-f", "mp3", "pipe:1",
    ]
    decode = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "mp3", "-i", "pipe:0",
              "-f", "f32le", "-ac", str(channels), "-ar", str(SAMPLE_RATE), "pipe:1"]
    decoded, failed = _through(command, decode, to_pcm16(excerpt))
    if failed or not decoded:
        return CodecEffect()
    after = np.frombuffer(decoded, dtype=np.float32).reshape(-1, channels)
    shift = integrated_loudness(after, channels) - integrated_loudness(excerpt, channels)
    rise = 20 * np.log10(max(true_peak(after), 1e-9) / max(true_peak(excerpt), 1e-9))
    return CodecEffect(float(np.clip(shift, -2.0, 2.0)) if np.isfinite(shift) else 0.0,
                       float(np.clip(rise, -3.0, 3.0)))


def _through(first: list[str], second: list[str], data: bytes) -> tuple[bytes, bool]:
    """``data`` through two processes piped one into the other, both running at once (the
    second does not wait for the first to finish); their output and whether either failed."""
    one = subprocess.Popen(first, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    two = subprocess.Popen(second, stdin=one.stdout, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    assert one.stdin is not None and one.stdout is not None
    one.stdout.close()  # the second process owns the read end now
    feeder = threading.Thread(target=_feed, args=(one.stdin, data), daemon=True)
    feeder.start()
    output, _ = two.communicate()
    feeder.join()
    return output, bool(one.wait() or two.returncode)


def _feed(stream: IO[bytes], data: bytes) -> None:
    """Write and close; a process that stopped reading has failed, which its exit says."""
    with contextlib.suppress(BrokenPipeError):
        stream.write(data)
    with contextlib.suppress(BrokenPipeError):
        stream.close()


def encode_mp3(chunks: Iterable[np.ndarray], channels: int, path: Path, bitrate_kbps: int
               ) -> None:
    """Stream float chunks ((n, channels), in [-1, 1]) into ffmpeg's MP3 encoder."""
    encode = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(channels), "-i", "pipe:0",
        "-map", "0:a", "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k",
        "-f", "mp3", "-write_xing", "1", "-id3v2_version", "0", str(path),
    ]
    encoder = subprocess.Popen(encode, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    assert encoder.stdin is not None
    _widen(encoder.stdin)
    errors = _Drain(encoder.stderr)
    try:
        for chunk in chunks:
            encoder.stdin.write(to_pcm16(chunk))
        encoder.stdin.close()
    except BrokenPipeError:
        pass
    except BaseException:
        encoder.kill()
        encoder.wait()
        raise
    if encoder.wait() != 0:
        raise DuopodError(f"ffmpeg could not encode {path.name}: {errors.result()[:300]}")


_PIPE_BYTES = 1 << 20


def _widen(pipe: IO[bytes]) -> None:
    """A megabyte of pipe (Linux; 64 KiB by default): more audio than the encoder gets
    through while the caller measures the chunk it just wrote, so the encoder, which sets
    the pace, never waits for it."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), set_size, _PIPE_BYTES)


def measure_mp3(path: Path) -> Measurement:
    """The encoded file's integrated loudness and true peak, read by ffmpeg's ebur128."""
    measure = [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path),
               "-filter_complex", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]
    result = subprocess.run(measure, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            check=False)
    return _parse_measurement(result.stderr.decode(errors="replace"), result.returncode, path)


class _Drain:
    """Reads a process's stderr on a thread, so a full pipe never blocks it."""

    def __init__(self, stream: object) -> None:
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):  # type: ignore[attr-defined]
            self._chunks.append(chunk)

    def result(self) -> str:
        self._thread.join()
        return b"".join(self._chunks).decode(errors="replace").strip()


def _parse_measurement(text: str, returncode: int | None, path: Path) -> Measurement:
    summary = text[text.rfind("Summary:") :]
    loudness = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if returncode != 0 or not loudness or not peak:
        raise DuopodError(f"could not measure {path.name}: {text[-300:]}")
    return Measurement(float(loudness.group(1)), float(peak.group(1)))


