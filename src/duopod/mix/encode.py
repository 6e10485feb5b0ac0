"""The ffmpeg processes behind mastering: the MP3 encoder, fed PCM through a pipe, and the
meter that measures the encoded frames as they are written (loudness and true peak).
ffmpeg comes from imageio-ffmpeg, never from the system.

The meter measures the MP3 as a player will decode it, not the encoder's input: the
encoder raises sharp onsets over the limiter's ceiling (up to 1.5 dB measured on Kokoro's
English voice), and the -1 dBTP promise is about the file. But only the decoding is left
to ffmpeg: the loudness (``LoudnessMeter``) and the true peak (``TruePeakMeter``, which
oversamples only the blocks that can hold it) are measured here on the decoded samples,
which costs about half of what ffmpeg's ebur128 filter took for both (it oversamples
every sample).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: pipes keep their size
    fcntl = None  # type: ignore[assignment]

from ..audio.decode import SAMPLE_RATE, ffmpeg_exe, to_pcm16
from ..audio.loudness import LoudnessMeter, integrated_loudness
from ..errors import DuopodError
from .peak import TruePeakMeter
from .tags import copy_chapters_to_ogg


@dataclass(frozen=True)
class Measurement:
    loudness_lufs: float
    true_peak_dbtp: float


def codec_loudness_shift(excerpt: np.ndarray, channels: int, bitrate_kbps: int) -> float:
    """LU the encoder takes away from ``excerpt``: a low-bitrate MP3 drops some of the
    energy the loudness weighting counts."""
    command = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(channels), "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-f", "mp3", "pipe:1",
    ]
    decode = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "mp3", "-i", "pipe:0",
              "-f", "f32le", "-ac", str(channels), "-ar", str(SAMPLE_RATE), "pipe:1"]
    decoded, failed = _through(command, decode, to_pcm16(excerpt))
    if failed or not decoded:
        return 0.0
    after = np.frombuffer(decoded, dtype=np.float32).reshape(-1, channels)
    shift = integrated_loudness(after, channels) - integrated_loudness(excerpt, channels)
    return float(np.clip(shift, -2.0, 2.0)) if np.isfinite(shift) else 0.0


def _through(first: list[str], second: list[str], data: bytes) -> tuple[bytes, bool]:
    """``data`` through two processes piped one into the other, both running at once (the
    second does not wait for the first to finish); their output and whether either failed."""
    one, two = _piped(first, second, output=subprocess.PIPE, errors=subprocess.DEVNULL)
    assert one.stdin is not None
    feeder = threading.Thread(target=_feed, args=(one.stdin, data), daemon=True)
    feeder.start()
    output, _ = two.communicate()
    feeder.join()
    return output, bool(one.wait() or two.returncode)


def _piped(first: list[str], second: list[str], output: int, errors: int,
           second_yields: bool = False
           ) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """Two processes, the first's output piped into the second, started at once: the
    caller writes to the first's stdin; the second's stdout goes to ``output``, both
    stderrs to ``errors``. With ``second_yields`` the second runs at a lower priority and
    the pipe between them holds up to a mebibyte, so the first never waits for it while
    the second can catch up later."""
    one = subprocess.Popen(first, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
    assert one.stdout is not None
    if second_yields:
        _widen_pipe(one.stdout.fileno(), WIDE_PIPE_BYTES)
    two = subprocess.Popen(second, stdin=one.stdout, stdout=output, stderr=errors)
    if second_yields:
        _lower_priority(two.pid, METER_NICENESS)
    one.stdout.close()  # the second process owns the read end now
    return one, two


WIDE_PIPE_BYTES = 1 << 20
"""The encoder-to-meter pipe's size: 65 s of a 128 kbit/s MP3 (Linux's usual 64 KiB holds
4 s), so a meter that has fallen behind does not stall the encoder."""
METER_NICENESS = 10
"""How much lower the meter's scheduling priority is than duopod's."""


def _widen_pipe(descriptor: int, size: int) -> None:
    """Ask for a larger pipe buffer (Linux only; elsewhere, or past the system's limit,
    the pipe keeps its size: the build is slower, not wrong)."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # None without fcntl, or off Linux
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(descriptor, set_size, size)


def _lower_priority(pid: int, steps: int) -> None:
    """Lower a child process's scheduling priority by ``steps`` (POSIX only)."""
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            now = os.getpriority(os.PRIO_PROCESS, pid)
            os.setpriority(os.PRIO_PROCESS, pid, min(19, now + steps))


def _feed(stream: IO[bytes], data: bytes) -> None:
    """Write and close; a process that stopped reading has failed, which its exit says."""
    with contextlib.suppress(BrokenPipeError):
        stream.write(data)
    with contextlib.suppress(BrokenPipeError):
        stream.close()


METER_SECONDS = 1.0
"""Decoded audio the meter reads and measures at a time."""


def encode_mp3(chunks: Iterable[np.ndarray], channels: int, path: Path, bitrate_kbps: int
               ) -> Measurement:
    """Stream float chunks ((n, channels), in [-1, 1]) into ffmpeg's MP3 encoder and measure
    what it wrote: the encoder's tee muxer hands the same MP3 frames it writes to ``path`` to a
    second ffmpeg that decodes them, and a thread here measures the decoded samples'
    loudness and true peak, in step with the encoding instead of after it.

    The encoder is the floor of a build's time. So the meter yields: the decoder and the
    measuring thread run at a lower priority, on a pipe wide enough that they may fall a
    minute behind, and catch up on the core the encoder leaves them."""
    encode = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(channels), "-i", "pipe:0",
        "-map", "0:a", "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-f", "tee",
        f"[f=mp3:write_xing=1:id3v2_version=0]{_tee_escape(str(path))}|"
        "[f=mp3:write_xing=0:id3v2_version=0]pipe:1",
    ]
    decode = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "mp3", "-i", "pipe:0",
              "-f", "f32le", "-ac", str(channels), "-ar", str(SAMPLE_RATE), "pipe:1"]
    encoder, decoder = _piped(encode, decode, output=subprocess.PIPE, errors=subprocess.PIPE,
                              second_yields=True)
    assert encoder.stdin is not None
    errors = _Drain(encoder.stderr), _Drain(decoder.stderr)
    meter = _Meter(decoder.stdout, channels)
    try:
        for chunk in chunks:
            encoder.stdin.write(to_pcm16(chunk))
        encoder.stdin.close()
    except BrokenPipeError:
        pass
    except BaseException:
        for process in (encoder, decoder):
            process.kill()
            process.wait()
        raise
    if encoder.wait() != 0:
        raise DuopodError(f"ffmpeg could not encode {path.name}: {errors[0].result()[:300]}")
    measured = meter.result()
    if decoder.wait() != 0 or measured is None:
        raise DuopodError(f"could not measure {path.name}: {errors[1].result()[-300:]}")
    return measured


class _Meter:
    """Reads the decoder's float samples on a thread of lower priority and measures them
    as they come: loudness (BS.1770, gated) and true peak."""

    def __init__(self, stream: IO[bytes] | None, channels: int) -> None:
        assert stream is not None
        self._stream = stream
        self._channels = channels
        self._loudness = LoudnessMeter(channels=channels)
        self._peak = TruePeakMeter()
        self._samples = 0
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._read, daemon=True,
                                        name="duopod-meter")
        self._thread.start()

    def _read(self) -> None:
        _lower_priority(threading.get_native_id(), METER_NICENESS)
        frame = 4 * self._channels
        size = int(METER_SECONDS * SAMPLE_RATE) * frame
        pending = b""
        try:
            while block := self._stream.read(size):
                pending += block
                whole = len(pending) - len(pending) % frame
                if whole:
                    self._add(np.frombuffer(pending[:whole], dtype=np.float32))
                    pending = pending[whole:]
        except BaseException as exc:  # reported by result()
            self._failure = exc
        finally:
            self._stream.close()

    def _add(self, samples: np.ndarray) -> None:
        audio = samples.reshape(-1, self._channels)
        self._loudness.add(audio)
        self._peak.add(audio)
        self._samples += len(audio)

    def result(self) -> Measurement | None:
        """The measurement once the decoder has finished; None when it gave nothing."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        if not self._samples:
            return None
        return Measurement(round(self._loudness.integrated(), 1),
                           round(self._peak.dbtp(), 1))


def _tee_escape(path: str) -> str:
    """Quote a file name for the tee muxer's output list."""
    return re.sub(r"([\\|\[\]:'])", r"\\\1", path)


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


_RENDITION_ENCODERS = {
    "aac": ["-c:a", "aac", "-aac_coder", "fast", "-movflags", "+faststart", "-f", "mp4"],
    "opus": ["-c:a", "libopus", "-application", "voip", "-f", "ogg"],
}
"""ffmpeg's own AAC-LC encoder into MP4 (faststart: an app can play while it downloads),
and libopus's speech mode into Ogg. The AAC encoder's ``fast`` coder, not its default
``twoloop``: on the example (5.3 min) it takes 2.1 s of CPU instead of 7.6 s (the MP3
encode takes 2.5 s), and its 48 kbit/s copy is as close to the MP3 (26 dB signal to
error, twoloop's 15 dB)."""


def encode_rendition(mp3: Path, target: Path, codec: str, bitrate_kbps: int) -> None:
    """A low-bandwidth copy of the finished ``mp3`` (mastered, on target, tagged) at
    ``target``: decoded and encoded again by the bundled ffmpeg, the same channels. Its
    tags and chapters are the MP3's (title, show, author, date, description; a listener who
    downloads the copy sees what the MP3 shows), less the ID3-only length frame and the
    cover (an image stream MP4 and Ogg audio files do not carry that way). DuopodError
    when ffmpeg fails."""
    command = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-i", str(mp3.resolve()), "-map", "0:a", "-map_metadata", "0",
        "-map_chapters", "0" if codec == "aac" else "-1", "-metadata", "TLEN=",
        *_RENDITION_ENCODERS[codec], "-b:a", f"{bitrate_kbps}k", str(target.resolve()),
    ]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        message = done.stderr.decode(errors="replace").strip()[-300:]
        raise DuopodError(f"ffmpeg could not make {target.name}: {message}")
    if codec == "opus":
        copy_chapters_to_ogg(mp3, target)
