"""Planning the mix: rendered turns placed with gaps, levelled, with music, as a ``Layout``
(every clip's place and gain) and the ``Timeline`` (who speaks when). Nothing here touches
the whole episode's audio: clips point into the speech cache and are read when rendered."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.decode import SAMPLE_RATE, as_float, decode_file
from ..audio.loudness import STEP, LoudnessMeter, integrated_from_steps
from ..errors import DuopodError
from ..labels import labels
from ..script.model import Script, Turn
from ..show.workspace import AudioSettings, MusicSettings
from ..speech.analysis import analyse
from ..speech.model import RenderedTurn, SentenceSpan
from ..speech.pcm import PcmFile
from .timeline import Chapter, Timeline, TimelineTurn

TURN_LOUDNESS_LUFS = -20.0
"""Every turn is levelled to this before mastering, so the hosts match."""
_TAIL = 0.6


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
    speech: bool = False
    """A host's turn (not music): levelled, and balanced against the master's limiter."""

    def piece(self, lo: int, hi: int) -> np.ndarray:
        """The clip's samples for episode positions [lo, hi), gain, fades and envelope applied."""
        offset = lo - self.start
        if self.length is None:
            raw = self.samples[offset : offset + (hi - lo)]
        else:
            looped = np.asarray(self.samples)  # a music bed: in memory, never a cache file
            raw = looped[np.arange(offset, offset + (hi - lo)) % len(looped)]
        piece = as_float(raw)
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
                left, right = pan_gains(clip.pan)
                target[:, 0] += piece * left
                target[:, 1] += piece * right
        return out


def pan_gains(pan: float) -> tuple[float, float]:
    """Left and right gains of a constant-power pan (-1 left .. 1 right), unity at centre
    summing to twice the power."""
    angle = (pan + 1) * np.pi / 4
    return float(np.cos(angle) * np.sqrt(2)), float(np.sin(angle) * np.sqrt(2))


def channel_power(pan: float, channels: int) -> float:
    """How much a clip's power grows when panned into ``channels`` (for loudness estimates)."""
    if channels == 1:
        return 1.0
    left, right = pan_gains(pan)
    return left * left + right * right


# ---------------------------------------------------------------- planning


def _window(samples: np.ndarray | PcmFile, start: int, stop: int) -> np.ndarray | PcmFile:
    if isinstance(samples, PcmFile):
        return samples.window(start, stop)
    return samples[start:stop]


def turn_gain(steps: np.ndarray, samples: np.ndarray | PcmFile) -> float:
    """Linear gain that brings a turn to TURN_LOUDNESS_LUFS (clamped to +-20 dB)."""
    loudness = integrated_from_steps(steps)
    if not np.isfinite(loudness):  # shorter than one gating block: fall back to RMS
        audio = as_float(samples)
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
    return labels(language)["opening"]


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

    hosts = list(script.speakers)  # each speaker a place in the stereo field
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
            # pause directions at a turn's edges ("（停顿）" on its own line) lengthen the gap
            scripted = rendered[position - 1].turn.pause_after() + turn.pause_before()
            cursor += int(scripted * rate)
        if turn.section not in section_starts:
            boundary = cursor if position == 0 else (previous_end + cursor) // 2
            section_starts[turn.section] = 0.0 if position == 0 else boundary / rate
        samples = _window(item.speech.samples, lo, hi)
        pan = 0.0 if len(hosts) < 2 else -0.3 + 0.6 * hosts.index(turn.speaker) / (len(hosts) - 1)
        gain = turn_gain(analysis.steps, samples)
        pauses = _pauses_within(turn, item.speech.sentences, lo, hi)
        if not pauses:
            clips.append(Clip(samples, cursor, gain, pan=pan, steps=analysis.steps,
                              speech=True))
        else:
            clips += _opened_clips(item.speech.samples, lo, hi, cursor, gain, pan,
                                   analysis.steps, pauses)
        paused = sum(length for _at, length in pauses)
        start, duration = cursor / rate, (len(samples) + paused) / rate
        sentences = _placed_sentences(item.speech.sentences, start, lo / rate,
                                      len(samples) / rate, pauses)
        timeline_turns.append(
            TimelineTurn(turn.index, turn.speaker, turn.text, turn.section, start,
                         start + duration, sentences, _laughs(turn, sentences))
        )
        previous_section = turn.section
        cursor += len(samples) + paused
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


def _laughs(turn: Turn, sentences: tuple[SentenceSpan, ...]) -> tuple[tuple[int, str], ...]:
    """Each laugh direction of ``turn`` with the sentence it falls in or follows (-1: before
    the first word), found by where the sentences start in the turn's text."""
    starts = _sentence_starts(turn.text, sentences)
    return tuple((sum(1 for start in starts if start < d.position) - 1, d.label)
                 for d in turn.directions if d.kind == "laugh")


def _sentence_starts(text: str, sentences: list[SentenceSpan] | tuple[SentenceSpan, ...]
                     ) -> list[int]:
    """Where each sentence starts in its turn's text (characters)."""
    starts: list[int] = []
    cursor = 0
    for sentence in sentences:
        found = text.find(sentence.text, cursor)
        starts.append(found if found >= 0 else cursor)
        cursor = starts[-1] + len(sentence.text)
    return starts


def _pauses_within(turn: Turn, sentences: list[SentenceSpan], lo: int, hi: int
                   ) -> list[tuple[int, int]]:
    """(samples into the trimmed turn, pause length in samples) for each pause direction
    inside the turn, placed between the sentence it falls in or follows and the next one
    (at the end of the turn when there is no next one)."""
    if not sentences:
        return []
    starts = _sentence_starts(turn.text, sentences)
    pauses = []
    for direction in turn.pauses_within():
        i = max(0, sum(1 for s in starts if s < direction.position) - 1)
        if i + 1 < len(sentences):
            seconds = (sentences[i].end + sentences[i + 1].start) / 2
            at = min(max(int(seconds * SAMPLE_RATE) - lo, 0), hi - lo)
        else:
            at = hi - lo
        pauses.append((at, int(direction.seconds * SAMPLE_RATE)))
    return sorted(pauses)


def _opened_clips(samples: np.ndarray | PcmFile, lo: int, hi: int, start: int, gain: float,
                  pan: float, steps: np.ndarray, pauses: list[tuple[int, int]]) -> list[Clip]:
    """A turn as several clips, one per stretch between its pauses, each moved later by the
    pauses before it; levelled as one turn."""
    edges = [0, *(at for at, _length in pauses), hi - lo]
    clips, shift = [], 0
    for k in range(len(edges) - 1):
        a, b = edges[k], edges[k + 1]
        shift += pauses[k - 1][1] if k > 0 else 0
        if b > a:
            clips.append(Clip(_window(samples, lo + a, lo + b), start + a + shift, gain,
                              pan=pan, steps=steps[a // STEP : b // STEP], speech=True))
    return clips


def _placed_sentences(sentences: list[SentenceSpan], start: float, trimmed: float,
                      duration: float, pauses: list[tuple[int, int]] | None = None
                      ) -> tuple[SentenceSpan, ...]:
    """A turn's sentence timings moved onto the episode: shifted by what trimming cut from
    the front, kept inside the turn, moved by the pauses opened before them, offset by
    where the turn starts."""
    opened = [(at / SAMPLE_RATE, length / SAMPLE_RATE) for at, length in pauses or []]

    def place(seconds: float, end: bool = False) -> float:
        inside = min(max(seconds - trimmed, 0.0), duration)
        moved = sum(s for at, s in opened if (at < inside if end else at <= inside))
        return round(start + inside + moved, 4)

    return tuple(SentenceSpan(s.text, place(s.start), place(s.end, end=True))
                 for s in sentences)


def _bed_clip(bed: _Music, turns: list[TimelineTurn], music: MusicSettings, length: int
              ) -> Clip:
    """A looping bed under the whole episode body, ducked while a section's hosts talk and
    back up in the pauses between sections."""
    rate = SAMPLE_RATE
    ramp = int(0.4 * rate)
    ducked = 10 ** (-music.duck_db / 20)
    spans: list[list[Any]] = []
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


