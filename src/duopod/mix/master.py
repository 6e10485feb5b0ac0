"""Mastering: the planned mix brought to the loudness target under a true-peak ceiling,
low-passed, limited and encoded, then checked on the encoded file.

The gain is predicted before encoding (the mix's loudness from each clip's cached loudness
profile; what the limiter and the encoder take away, tried on excerpts), and the mix is
rendered once, chunk by chunk, into the encoder while a second ffmpeg measures the MP3 it
writes; chunks are mastered a few ahead on worker threads, so mastering and encoding
overlap. Nothing holds the whole episode, so time and memory grow linearly with its length.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from ..audio.decode import SAMPLE_RATE, as_float
from ..audio.dsp import convolve_same, lowpass_taps
from ..audio.loudness import STEP, integrated_from_steps, integrated_loudness
from ..errors import DuopodError
from ..show.workspace import AudioSettings
from .encode import Measurement, codec_loudness_shift, encode_mp3
from .limiter import LIMITER_CONTEXT, LIMITER_LOOKAHEAD, LIMITER_MARGIN_DB, gain_curve, limit
from .plan import Clip, Layout, channel_power, pan_gains

CHUNK = SAMPLE_RATE * 10
"""Samples rendered, mastered and piped to the encoder at a time (ten seconds)."""
MASTER_WORKERS = 2
"""Threads mastering chunks while the encoder runs (the encoder and its meter are the
other two busy processes; more threads only contend on a small machine)."""
AHEAD = 4
"""Mastered chunks that may wait for the encoder (40 s of audio)."""
LOWPASS_HZ = 16_000
LOWPASS_TAPS = 255
CODEC_TRIAL_SECONDS = 5.0
"""Seconds of each excerpt the encoder is tried on (15 s in all): the shift it finds
varies by about 0.03 LU between 5 s and 20 s excerpts of the examples."""
LOUDNESS_TOLERANCE = 0.3
"""LU the encoded file may be off its target before it is encoded again."""


@cache
def _lowpass_taps() -> np.ndarray:
    """A linear-phase low-pass at 16 kHz. The MP3 encoder cuts the top octave anyway; doing
    it before measuring means encoding no longer moves the loudness we aimed for."""
    taps = lowpass_taps(LOWPASS_TAPS, LOWPASS_HZ / (SAMPLE_RATE / 2), np.hamming(LOWPASS_TAPS))
    return taps.astype(np.float32)


def _mastered_chunk(layout: Layout, a: int, b: int, gain: float, ceiling_db: float | None
                    ) -> np.ndarray:
    """Samples [a, b) of the mastered mix. Rendering a margin of context on each side makes
    the filter and the limiter seamless across chunk boundaries."""
    return _gained_and_limited(_filtered(layout, a, b), gain, ceiling_db)[
        LIMITER_CONTEXT : LIMITER_CONTEXT + (b - a)]


def _filtered(layout: Layout, a: int, b: int) -> np.ndarray:
    """Samples [a, b) of the mix, low-passed, with LIMITER_CONTEXT samples on each side:
    the part of mastering that does not depend on the gain, so it can be shared."""
    context = layout.render(a - LIMITER_CONTEXT, b + LIMITER_CONTEXT)
    return convolve_same(context, _lowpass_taps())


def _gained_and_limited(filtered: np.ndarray, gain: float, ceiling_db: float | None
                        ) -> np.ndarray:
    context = filtered * gain
    if ceiling_db is not None:
        context *= limit(context, ceiling_db)[:, None]
    return context


def mastered_chunks(layout: Layout, gain: float, ceiling_db: float,
                    workers: int = MASTER_WORKERS) -> Iterator[np.ndarray]:
    """The whole mastered episode, CHUNK samples at a time, in order.

    Chunks are mastered ahead on worker threads while the caller feeds the encoder, so
    mastering overlaps encoding instead of taking turns with it (the FFTs, filters and
    array arithmetic release the GIL). At most ``AHEAD`` chunks wait, so memory stays flat.
    Each chunk is computed exactly as it would be alone: the output does not depend on
    the number of workers."""
    bounds = [(a, min(a + CHUNK, layout.length)) for a in range(0, layout.length, CHUNK)]
    with ThreadPoolExecutor(workers, thread_name_prefix="duopod-master") as pool:
        pending: deque[Future[np.ndarray]] = deque()
        try:
            for a, b in bounds:
                pending.append(pool.submit(_mastered_chunk, layout, a, b, gain, ceiling_db))
                if len(pending) > AHEAD:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:  # the consumer stopped early (encoder failed): drop the work not started
            for future in pending:
                future.cancel()


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
        power = steps * np.square(gains) * channel_power(clip.pan, layout.channels)
        end = min(len(total), first + len(power))
        total[first:end] += power[: end - first]
    return integrated_from_steps(total)


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


def _excerpt_audio(filtered: list[np.ndarray], gain: float, ceiling_db: float | None
                   ) -> np.ndarray:
    return np.concatenate([
        _gained_and_limited(context, gain, ceiling_db)[LIMITER_CONTEXT:-LIMITER_CONTEXT]
        for context in filtered])


def _filtered_excerpts(layout: Layout, seconds: float = 10.0) -> list[np.ndarray]:
    with ThreadPoolExecutor(MASTER_WORKERS, thread_name_prefix="duopod-master") as pool:
        return list(pool.map(lambda span: _filtered(layout, *span), _excerpts(layout, seconds)))


def start_codec_trial(layout: Layout, settings: AudioSettings, ceiling_db: float,
                      pool: ThreadPoolExecutor) -> Future[float]:
    """What the encoder takes from the mix's loudness (LU), tried on limited excerpts in
    the background: the trial is an ffmpeg encode and decode, so it runs on the other core
    while the turns are balanced. It is started before balancing: the raise balancing gives
    a turn moves the shift by hundredths of a LU (measured on both examples), well inside
    the 0.3 LU the encoded file is allowed."""
    filtered = _filtered_excerpts(layout, CODEC_TRIAL_SECONDS)
    excerpt = _excerpt_audio(filtered, master_gain(layout, settings), ceiling_db)
    return pool.submit(codec_loudness_shift, excerpt, layout.channels, settings.bitrate_kbps)


def predict_gain(layout: Layout, settings: AudioSettings, ceiling_db: float,
                 codec_shift: Future[float] | None = None) -> float:
    """The gain that should land the encoded file on target: the mix's loudness estimated
    from its clips, then what the limiter and the encoder take away, tried on excerpts
    (the encoder's share from ``codec_shift`` when it was started earlier). The encoded
    file is measured afterwards all the same. The excerpts are rendered and filtered once
    for both limiter trials."""
    base = master_gain(layout, settings)
    channels = layout.channels
    filtered = _filtered_excerpts(layout)
    free = integrated_loudness(_excerpt_audio(filtered, base, None), channels)
    limited_excerpt = _excerpt_audio(filtered, base, ceiling_db)
    limited = integrated_loudness(limited_excerpt, channels)
    loss = limited - free if np.isfinite(free) and np.isfinite(limited) else 0.0
    shift = (codec_shift.result() if codec_shift is not None
             else codec_loudness_shift(limited_excerpt, channels, settings.bitrate_kbps))
    return float(base * 10 ** (-(loss + shift) / 20))


_BALANCE_BLOCK = 10
"""Samples per block when estimating what the limiter takes (441 blocks per 100 ms step)."""


def _limiter_loss(magnitude: np.ndarray, power: np.ndarray, steps: np.ndarray, gain: float,
                  ceiling_db: float) -> float:
    """LU the limiter takes from a turn played at ``gain``: its gain curve from the turn's
    block peaks (``magnitude``, panned), applied to the turn's 100 ms loudness steps in
    proportion to the power it removes from each. Approximate (sample peaks on 10-sample
    blocks, no re-weighting) and cheap: the balance needs tenths of a LU, not more."""
    required = np.minimum(1.0, 10 ** (ceiling_db / 20) / np.maximum(magnitude * gain, 1e-9))
    if required.min() >= 1.0:
        return 0.0
    curve = gain_curve(required, LIMITER_LOOKAHEAD // _BALANCE_BLOCK).reshape(len(steps), -1)
    total = power.sum(axis=1)
    kept = (power * np.square(curve, dtype=np.float64)).sum(axis=1)
    ratio = np.divide(kept, total, out=np.ones(len(kept)), where=total > 0)
    before = integrated_from_steps(steps)
    after = integrated_from_steps(steps * ratio)
    return before - after if np.isfinite(before) and np.isfinite(after) else 0.0


def _balance_gain(clip: Clip, channels: int, master: float, ceiling_db: float) -> float:
    """The extra gain that makes up what the limiter takes from ``clip``: the fixed point of
    extra = loss(extra), reached from two evaluations (the loss grows about linearly in dB
    with the gain, with a slope under one)."""
    if clip.steps is None:
        return 1.0
    audio = as_float(clip.samples[0 : len(clip.samples)])
    steps = clip.steps[: len(audio) // STEP]
    if len(steps) < 4:
        return 1.0
    blocks = audio[: len(steps) * STEP].reshape(-1, _BALANCE_BLOCK)
    peak_gain = max(pan_gains(clip.pan)) if channels == 2 else 1.0
    # per block, column by column: strided maxima and sums beat a reduce over a short axis
    magnitude = np.abs(blocks[:, 0])
    power = np.square(blocks[:, 0], dtype=np.float64)
    for column in range(1, _BALANCE_BLOCK):
        np.maximum(magnitude, np.abs(blocks[:, column]), out=magnitude)
        power += np.square(blocks[:, column], dtype=np.float64)
    magnitude *= peak_gain
    power = power.reshape(len(steps), -1)
    gain = clip.gain * master
    first = _limiter_loss(magnitude, power, steps, gain, ceiling_db)
    if first < 0.05:
        return float(10 ** (first / 20))
    second = _limiter_loss(magnitude, power, steps, gain * 10 ** (first / 20), ceiling_db)
    slope = min(max((second - first) / first, 0.0), 0.8)
    return float(10 ** (min(first / (1 - slope), 6.0) / 20))


def balance_limiting(layout: Layout, settings: AudioSettings, ceiling_db: float) -> None:
    """Raise each turn by what the limiter will take from it, so the hosts stay level.

    Turns are levelled to the same loudness, but a voice with a high crest factor loses
    more to the true-peak limiter: espeak's male voices peak 4-5 dB over the ceiling at
    -16 LUFS while its female ones barely reach it, so Alex came out 1.05 LU under Sam in
    the English example. Each turn is played through the limiter at the gain the master
    will give it and raised by what it would lose. The master's gain barely moves: the mix
    is estimated louder by the raise, and the limiter takes the raise back."""
    master = master_gain(layout, settings)
    for clip in layout.clips:
        if clip.speech:
            clip.gain *= _balance_gain(clip, layout.channels, master, ceiling_db)


def master_and_encode(layout: Layout, settings: AudioSettings, path: Path) -> Measurement:
    """Master to the loudness and true-peak targets and encode; checked on the encoded file."""
    ceiling = settings.true_peak_dbtp - LIMITER_MARGIN_DB
    with ThreadPoolExecutor(1, thread_name_prefix="duopod-trial") as background:
        codec_shift = start_codec_trial(layout, settings, ceiling, background)
        balance_limiting(layout, settings, ceiling)
        gain = predict_gain(layout, settings, ceiling, codec_shift)

    def encode(gain: float, ceiling: float, written: Path) -> Measurement:
        return encode_mp3(mastered_chunks(layout, gain, ceiling), layout.channels, written,
                          settings.bitrate_kbps)

    return encode_until_on_target(encode, settings, gain, ceiling, path)


ENCODE_ATTEMPTS = 4
PEAK_RETRY_MARGIN_DB = 0.3
"""How far under the target a retry aims the true peak it missed: the encoder's overshoot
over the limiter's ceiling is up to 1.5 dB on sharp onsets (Kokoro's English voice) and
moves by a few tenths of a dB between two encodes of nearly the same master."""


def encode_until_on_target(encode: Callable[[float, float, Path], Measurement],
                           settings: AudioSettings, gain: float, ceiling: float, path: Path
                           ) -> Measurement:
    """Encode (``encode(gain, ceiling, file)``) until the file is on target: a peak over the
    ceiling lowers the limiter's ceiling, a loudness off target moves the gain. Each try is
    kept, and the one that lands at ``path`` is the best: the true-peak ceiling is never
    traded for loudness, so a later try that fixed the loudness but broke the ceiling loses
    to an earlier one within it."""
    tries: list[tuple[Measurement, Path]] = []
    written = path
    try:
        for attempt in range(ENCODE_ATTEMPTS):
            written = path if attempt == 0 else path.with_name(f"{path.stem}.try{attempt}.mp3")
            measured = encode(gain, ceiling, written)
            tries.append((measured, written))
            peak_over, loudness_off = _misses(measured, settings)
            if peak_over <= 0 and abs(loudness_off) <= LOUDNESS_TOLERANCE:
                break
            if peak_over > 0:  # encoding raised the peaks: limit harder
                ceiling -= peak_over + PEAK_RETRY_MARGIN_DB
            gain *= 10 ** (loudness_off / 20)
        best, chosen = min(tries, key=lambda tried: _shortfall(tried[0], settings))
        if chosen != path:
            os.replace(chosen, path)
    finally:  # the tries not published, and one an encoder failure left half-written
        for leftover in {tried for _measured, tried in tries} | {written}:
            if leftover != path:
                leftover.unlink(missing_ok=True)
    return best


def _misses(measured: Measurement, settings: AudioSettings) -> tuple[float, float]:
    """dB the true peak is over the ceiling, LU the loudness is under the target."""
    return (measured.true_peak_dbtp - settings.true_peak_dbtp,
            settings.loudness_lufs - measured.loudness_lufs)


def _shortfall(measured: Measurement, settings: AudioSettings) -> tuple[float, float]:
    """How far a try misses, to rank them: the peak over the ceiling first, then the
    distance from the loudness target."""
    peak_over, loudness_off = _misses(measured, settings)
    return max(0.0, peak_over), abs(loudness_off)
