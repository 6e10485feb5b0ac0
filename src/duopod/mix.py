"""Stage 3, mix: rendered turns become one mastered audio file and the ``Timeline``.

The mix is planned first (a ``Layout``: every clip's place and gain, and the timeline).
Its loudness is estimated from the turns' cached loudness profiles, the limiter's and the
encoder's effect is tried on excerpts, and then the mix is rendered once, chunk by chunk,
into the encoder while a second ffmpeg measures the MP3 it writes. Nothing ever holds the
whole episode, so time and memory grow linearly with the episode's length.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from scipy.signal import firwin, oaconvolve

from .audio import decode_file, ffmpeg_exe, trim_bounds
from .cache import PcmFile
from .errors import DuopodError
from .loudness import LIMITER_CONTEXT, STEP, LoudnessMeter, integrated_from_steps, limit
from .model import (
    SAMPLE_RATE,
    Chapter,
    RenderedTurn,
    Script,
    SentenceSpan,
    SpeechAnalysis,
    Timeline,
    TimelineTurn,
)
from .workspace import AudioSettings, MusicSettings

CHUNK = SAMPLE_RATE * 10
LOWPASS_HZ = 16_000
LOWPASS_TAPS = 255
TURN_LOUDNESS_LUFS = -20.0
"""Every turn is levelled to this before mastering, so the hosts match."""
_TAIL = 0.6
_LIMITER_MARGIN_DB = 0.4
LOUDNESS_TOLERANCE = 0.3
"""LU the encoded file may be off its target before it is encoded again."""


@dataclass
class Clip:
    samples: np.ndarray | PcmFile
    """Mono int16 PCM (speech, read from the cache as needed) or float32 (music)."""
    start: int
    gain: float
    fade_in: int = 0
    fade_out: int = 0
    pan: float = 0.0
    length: int | None = None
    """Set for a music bed: the clip loops its samples to fill this many samples."""
    envelope: tuple[np.ndarray, np.ndarray] | None = None
    """(episode sample positions, gains): a gain curve, e.g. ducking under the voices."""

    @property
    def end(self) -> int:
        return self.start + (self.length if self.length is not None else len(self.samples))

    steps: np.ndarray | None = None
    """K-weighted power per 100 ms of the samples at unit gain (for estimating loudness)."""

    def piece(self, lo: int, hi: int) -> np.ndarray:
        """The clip's samples for episode positions [lo, hi), gain, fades and envelope applied."""
        offset = lo - self.start
        if self.length is None:
            raw = self.samples[offset : offset + (hi - lo)]
        else:
            raw = self.samples[np.arange(offset, offset + (hi - lo)) % len(self.samples)]
        piece = _as_float(raw)
        piece *= self.gain_at(np.arange(offset, offset + len(piece)))
        return piece

    def gain_at(self, offsets: np.ndarray) -> np.ndarray | float:
        """Gain at sample ``offsets`` into the clip: level, fades and envelope."""
        total = self.end - self.start
        gain: np.ndarray | float = self.gain
        if len(offsets) == 0:
            return gain
        first, last = int(offsets[0]), int(offsets[-1])
        if self.fade_in and first < self.fade_in:
            gain = gain * np.clip(offsets / self.fade_in, 0, 1)
        if self.fade_out and last >= total - self.fade_out:
            gain = gain * np.clip((total - offsets) / self.fade_out, 0, 1)
        if self.envelope is not None:
            gain = gain * np.interp(offsets + self.start, *self.envelope)
        return gain.astype(np.float32) if isinstance(gain, np.ndarray) else gain


@dataclass
class Layout:
    clips: list[Clip]
    length: int
    channels: int
    timeline: Timeline
    _starts: np.ndarray = field(init=False, repr=False)
    _ends: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._starts = np.array([c.start for c in self.clips], dtype=np.int64)
        self._ends = np.array([c.end for c in self.clips], dtype=np.int64)

    def render(self, a: int, b: int) -> np.ndarray:
        """Samples [a, b) of the unmastered mix; indexes outside the episode are silence."""
        out = np.zeros((b - a, self.channels), dtype=np.float32)
        for i in np.flatnonzero((self._starts < b) & (self._ends > a)):
            clip = self.clips[i]
            lo, hi = max(a, clip.start), min(b, clip.end)
            piece = clip.piece(lo, hi)
            target = out[lo - a : hi - a]
            if self.channels == 1:
                target[:, 0] += piece
            else:
                left, right = _pan_gains(clip.pan)
                target[:, 0] += piece * left
                target[:, 1] += piece * right
        return out


def _as_float(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        return samples.astype(np.float32) * (1 / 32768)
    return samples.astype(np.float32, copy=True)


def _pan_gains(pan: float) -> tuple[float, float]:
    angle = (pan + 1) * np.pi / 4
    return float(np.cos(angle) * np.sqrt(2)), float(np.sin(angle) * np.sqrt(2))


# ---------------------------------------------------------------- planning


def _window(samples: np.ndarray | PcmFile, start: int, stop: int) -> np.ndarray | PcmFile:
    if isinstance(samples, PcmFile):
        return samples.window(start, stop)
    return samples[start:stop]


def analyse(samples: np.ndarray) -> SpeechAnalysis:
    """Trim bounds and loudness steps of a turn's audio (cached with the speech)."""
    lo, hi = trim_bounds(samples)
    meter = LoudnessMeter()
    if hi > lo:
        meter.add(_as_float(samples[lo:hi]))
    return SpeechAnalysis(lo, hi, meter.steps())


def turn_gain(steps: np.ndarray, samples: np.ndarray) -> float:
    """Linear gain that brings a turn to TURN_LOUDNESS_LUFS (clamped to +-20 dB)."""
    loudness = integrated_from_steps(steps)
    if not np.isfinite(loudness):  # shorter than one gating block: fall back to RMS
        audio = _as_float(samples)
        rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0
        loudness = 20 * np.log10(max(rms, 1e-6)) - 3
    return float(10 ** (np.clip(TURN_LOUDNESS_LUFS - loudness, -20, 20) / 20))


def gap_after(slug: str, index: int, settings: AudioSettings, section_change: bool) -> float:
    """The pause before turn ``index``: deterministic per episode, so rebuilds are identical."""
    if section_change:
        return settings.section_gap
    digest = hashlib.sha256(f"{slug}:{index}".encode()).digest()
    unit = int.from_bytes(digest[:4], "big") / 2**32 * 2 - 1
    return max(0.05, settings.gap + unit * settings.gap_jitter)


def opening_chapter_title(language: str) -> str:
    return "开场" if language.lower().startswith(("zh", "cmn", "yue")) else "Opening"


@dataclass
class _Music:
    samples: np.ndarray
    gain: float
    steps: np.ndarray


def _load_music(path: Path | None, level_db: float) -> _Music | None:
    if path is None:
        return None
    samples = decode_file(path)
    meter = LoudnessMeter()
    meter.add(samples)
    loudness = meter.integrated()
    gain = 10 ** ((TURN_LOUDNESS_LUFS + level_db - loudness) / 20) if np.isfinite(loudness) else 0
    return _Music(samples, float(gain), meter.steps())


def plan_mix(
    script: Script,
    rendered: list[RenderedTurn],
    settings: AudioSettings,
    music: MusicSettings | None = None,
    language: str = "en",
) -> Layout:
    music = music or MusicSettings()
    rate = SAMPLE_RATE
    clips: list[Clip] = []
    intro = _load_music(music.intro, music.level_db)
    outro = _load_music(music.outro, music.level_db)
    fade = int(music.fade * rate)

    cursor = 0
    if intro is not None:
        clips.append(Clip(intro.samples, 0, intro.gain, int(0.02 * rate), fade,
                          steps=intro.steps))
        cursor = max(0, len(intro.samples) - int(music.overlap * rate))

    hosts = list(script.hosts)
    timeline_turns: list[TimelineTurn] = []
    section_starts: dict[int | None, float] = {}
    previous_section: int | None = None
    previous_end = 0
    for position, item in enumerate(rendered):
        turn = item.turn
        analysis = item.speech.analysis or analyse(item.speech.samples)
        lo, hi = analysis.trim_start, analysis.trim_end
        if hi <= lo:
            raise DuopodError(
                f"{script.path}:{turn.line}: turn {turn.index + 1} rendered as silence"
            )
        if position > 0:
            change = turn.section != previous_section
            cursor += int(gap_after(script.meta.slug, turn.index, settings, change) * rate)
        if turn.section not in section_starts:
            boundary = cursor if position == 0 else (previous_end + cursor) // 2
            section_starts[turn.section] = 0.0 if position == 0 else boundary / rate
        samples = _window(item.speech.samples, lo, hi)
        pan = 0.0 if len(hosts) < 2 else -0.3 + 0.6 * hosts.index(turn.speaker) / (len(hosts) - 1)
        clips.append(Clip(samples, cursor, turn_gain(analysis.steps, samples), pan=pan,
                          steps=analysis.steps))
        start, duration = cursor / rate, len(samples) / rate
        sentences = _placed_sentences(item.speech.sentences, start, lo / rate, duration)
        timeline_turns.append(
            TimelineTurn(turn.index, turn.speaker, turn.text, turn.section, start,
                         start + duration, sentences)
        )
        previous_section = turn.section
        cursor += len(samples)
        previous_end = cursor

    length = cursor + int(_TAIL * rate)
    if outro is not None:
        outro_start = max(0, cursor + int(0.3 * rate) - int(music.overlap * rate))
        clips.append(Clip(outro.samples, outro_start, outro.gain, fade, fade, steps=outro.steps))
        length = max(length, outro_start + len(outro.samples))

    bed = _load_music(music.bed, music.bed_level_db)
    if bed is not None and timeline_turns:
        clips.append(_bed_clip(bed, timeline_turns, music, length))

    duration = length / rate
    chapters = _chapters(script, section_starts, duration, language)
    timeline = Timeline(tuple(timeline_turns), tuple(chapters), duration)
    return Layout(clips, length, settings.channels, timeline)


def _placed_sentences(sentences: list[SentenceSpan], start: float, trimmed: float,
                      duration: float) -> tuple[SentenceSpan, ...]:
    """A turn's sentence timings moved onto the episode: shifted by what trimming cut from
    the front, kept inside the turn, offset by where the turn starts."""
    def place(seconds: float) -> float:
        return round(start + min(max(seconds - trimmed, 0.0), duration), 4)

    return tuple(SentenceSpan(s.text, place(s.start), place(s.end)) for s in sentences)


def _bed_clip(bed: _Music, turns: list[TimelineTurn], music: MusicSettings, length: int
              ) -> Clip:
    """A looping bed under the whole episode body, ducked while a section's hosts talk and
    back up in the pauses between sections."""
    rate = SAMPLE_RATE
    ramp = int(0.4 * rate)
    ducked = 10 ** (-music.duck_db / 20)
    spans: list[list[float]] = []
    for turn in turns:
        if spans and spans[-1][2] == turn.section:
            spans[-1][1] = turn.end
        else:
            spans.append([turn.start, turn.end, turn.section])
    xs, ys = [0.0], [1.0]
    for start, end, _section in spans:
        a, b = int(start * rate), int(end * rate)
        xs += [max(a - ramp, xs[-1]), a, b, b + ramp]
        ys += [1.0, ducked, ducked, 1.0]
    xs.append(float(length))
    ys.append(1.0)
    start = max(0, int(turns[0].start * rate) - int(music.fade * rate))
    end = min(length, int(turns[-1].end * rate) + int(music.fade * rate))
    fade = int(music.fade * rate)
    envelope = (np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float32))
    loops = -(-(end - start) // len(bed.samples))
    steps = np.tile(bed.steps, loops + 1)
    return Clip(bed.samples, start, bed.gain, fade, fade, length=end - start, envelope=envelope,
                steps=steps)


def _chapters(
    script: Script, starts: dict[int | None, float], duration: float, language: str
) -> list[Chapter]:
    ordered = sorted(starts.items(), key=lambda kv: kv[1])
    chapters = []
    for i, (section, start) in enumerate(ordered):
        end = ordered[i + 1][1] if i + 1 < len(ordered) else duration
        title = (
            script.sections[section].title if section is not None
            else opening_chapter_title(language)
        )
        chapters.append(Chapter(title, round(start, 3), round(end, 3)))
    return chapters


# ---------------------------------------------------------------- mastering and encoding


@dataclass(frozen=True)
class Measurement:
    loudness_lufs: float
    true_peak_dbtp: float


def _chunks(length: int) -> range:
    return range(0, length, CHUNK)


@cache
def _lowpass_taps() -> np.ndarray:
    """A linear-phase low-pass at 16 kHz. The MP3 encoder cuts the top octave anyway; doing
    it before measuring means encoding no longer moves the loudness we aimed for."""
    return firwin(LOWPASS_TAPS, LOWPASS_HZ, fs=SAMPLE_RATE).astype(np.float32)


def _mastered_chunk(layout: Layout, a: int, b: int, gain: float, ceiling_db: float | None
                    ) -> np.ndarray:
    """Samples [a, b) of the mastered mix. Rendering a margin of context on each side makes
    the filter and the limiter seamless across chunk boundaries."""
    context = layout.render(a - LIMITER_CONTEXT, b + LIMITER_CONTEXT)
    context = oaconvolve(context, _lowpass_taps()[:, None], mode="same", axes=0) * gain
    if ceiling_db is not None:
        context *= limit(context, ceiling_db)[:, None]
    return context[LIMITER_CONTEXT : LIMITER_CONTEXT + (b - a)]


def estimated_loudness(layout: Layout) -> float:
    """The unmastered mix's integrated loudness, from each clip's cached 100 ms loudness
    steps placed on the episode's step grid: no pass over the audio."""
    total = np.zeros(layout.length // STEP + 2)
    for clip in layout.clips:
        if clip.steps is None or clip.steps.size == 0:
            continue
        span = (clip.end - clip.start) // STEP
        steps = clip.steps[:span]
        gains = clip.gain_at(np.arange(len(steps)) * STEP + STEP // 2)
        first = round(clip.start / STEP)
        power = steps * np.square(gains) * _channel_power(clip.pan, layout.channels)
        end = min(len(total), first + len(power))
        total[first:end] += power[: end - first]
    return integrated_from_steps(total)


def _channel_power(pan: float, channels: int) -> float:
    if channels == 1:
        return 1.0
    left, right = _pan_gains(pan)
    return left * left + right * right


def master_gain(layout: Layout, settings: AudioSettings) -> float:
    """The linear gain that brings the (unlimited) mix to the loudness target."""
    raw = estimated_loudness(layout)
    if not np.isfinite(raw):
        raise DuopodError("the mix is silent")
    return float(10 ** ((settings.loudness_lufs - raw) / 20))


def _excerpts(layout: Layout, seconds: float = 10.0, count: int = 3) -> list[tuple[int, int]]:
    """A few stretches of speech spread over the episode, to try settings on cheaply."""
    turns = layout.timeline.turns
    if not turns:
        return [(0, min(layout.length, int(seconds * SAMPLE_RATE)))]
    first, last = turns[0].start, turns[-1].end
    span = int(seconds * SAMPLE_RATE)
    starts = np.linspace(first, max(first, last - seconds), count)
    return [(int(t * SAMPLE_RATE), min(layout.length, int(t * SAMPLE_RATE) + span))
            for t in starts]


def _excerpt_audio(layout: Layout, gain: float, ceiling_db: float | None) -> np.ndarray:
    return np.concatenate([_mastered_chunk(layout, a, b, gain, ceiling_db)
                           for a, b in _excerpts(layout)])


def _loudness(samples: np.ndarray, channels: int) -> float:
    meter = LoudnessMeter(channels=channels)
    meter.add(samples)
    return meter.integrated()


def codec_loudness_shift(excerpt: np.ndarray, channels: int, bitrate_kbps: int) -> float:
    """LU the encoder takes away from ``excerpt``: a low-bitrate MP3 drops some of the
    energy the loudness weighting counts."""
    command = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(channels), "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-f", "mp3", "pipe:1",
    ]
    encoded = subprocess.run(command, input=_pcm16(excerpt), capture_output=True, check=False)
    decode = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "mp3", "-i", "pipe:0",
              "-f", "f32le", "-ac", str(channels), "-ar", str(SAMPLE_RATE), "pipe:1"]
    decoded = subprocess.run(decode, input=encoded.stdout, capture_output=True, check=False)
    if encoded.returncode or decoded.returncode or not decoded.stdout:
        return 0.0
    after = np.frombuffer(decoded.stdout, dtype=np.float32).reshape(-1, channels)
    shift = _loudness(after, channels) - _loudness(excerpt, channels)
    return float(np.clip(shift, -2.0, 2.0)) if np.isfinite(shift) else 0.0


def predict_gain(layout: Layout, settings: AudioSettings, ceiling_db: float) -> float:
    """The gain that should land the encoded file on target: the mix's loudness estimated
    from its clips, then what the limiter and the encoder take away, tried on excerpts.
    (The encoded file is measured afterwards all the same.)"""
    base = master_gain(layout, settings)
    channels = layout.channels
    free = _loudness(_excerpt_audio(layout, base, None), channels)
    limited_excerpt = _excerpt_audio(layout, base, ceiling_db)
    limited = _loudness(limited_excerpt, channels)
    loss = limited - free if np.isfinite(free) and np.isfinite(limited) else 0.0
    shift = codec_loudness_shift(limited_excerpt, channels, settings.bitrate_kbps)
    return float(base * 10 ** (-(loss + shift) / 20))


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()


_MEASURE = ["-filter_complex", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"]


def encode_layout(layout: Layout, gain: float, ceiling_db: float, path: Path,
                  bitrate_kbps: int) -> Measurement:
    """Stream the mastered mix into ffmpeg's MP3 encoder, chunk by chunk, and measure what
    it wrote: the encoder's tee muxer hands the same MP3 frames it writes to ``path`` to a
    second ffmpeg that decodes them and reads loudness and true peak (ebur128), in step
    with the encoding instead of after it."""
    encode = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(layout.channels), "-i", "pipe:0",
        "-map", "0:a", "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-f", "tee",
        f"[f=mp3:write_xing=1:id3v2_version=0]{_tee_escape(str(path))}|"
        "[f=mp3:write_xing=0:id3v2_version=0]pipe:1",
    ]
    measure = [ffmpeg_exe(), "-hide_banner", "-nostats", "-f", "mp3", "-i", "pipe:0", *_MEASURE]
    encoder = subprocess.Popen(encode, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    meter = subprocess.Popen(measure, stdin=encoder.stdout, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    assert encoder.stdin is not None and encoder.stdout is not None
    encoder.stdout.close()  # the meter process owns the read end now
    errors = _Drain(encoder.stderr), _Drain(meter.stderr)
    try:
        for a in _chunks(layout.length):
            chunk = _mastered_chunk(layout, a, min(a + CHUNK, layout.length), gain, ceiling_db)
            encoder.stdin.write(_pcm16(chunk))
        encoder.stdin.close()
    except BrokenPipeError:
        pass
    except BaseException:
        for process in (encoder, meter):
            process.kill()
            process.wait()
        raise
    if encoder.wait() != 0:
        raise DuopodError(f"ffmpeg could not encode {path.name}: {errors[0].result()[:300]}")
    meter.wait()
    return _parse_measurement(errors[1].result(), meter.returncode, path)


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


def _parse_measurement(text: str, returncode: int | None, path: Path) -> Measurement:
    summary = text[text.rfind("Summary:") :]
    loudness = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if returncode != 0 or not loudness or not peak:
        raise DuopodError(f"could not measure {path.name}: {text[-300:]}")
    return Measurement(float(loudness.group(1)), float(peak.group(1)))


def master_and_encode(layout: Layout, settings: AudioSettings, path: Path) -> Measurement:
    """Master to the loudness and true-peak targets and encode; checked on the encoded file."""
    ceiling = settings.true_peak_dbtp - _LIMITER_MARGIN_DB
    gain = predict_gain(layout, settings, ceiling)
    for _attempt in range(3):
        measured = encode_layout(layout, gain, ceiling, path, settings.bitrate_kbps)
        peak_over = measured.true_peak_dbtp - settings.true_peak_dbtp
        loudness_off = settings.loudness_lufs - measured.loudness_lufs
        if peak_over <= 0 and abs(loudness_off) <= LOUDNESS_TOLERANCE:
            return measured
        if peak_over > 0:  # encoding raised the peaks: limit harder
            ceiling -= peak_over + 0.1
        gain *= 10 ** (loudness_off / 20)
    return measured
