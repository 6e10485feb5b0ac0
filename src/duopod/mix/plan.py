"""Planning the mix: rendered turns placed with gaps, levelled, with music, as a ``Layout``
(every clip's place and gain) and the ``Timeline`` (who speaks when). Nothing here touches
the whole episode's audio: clips point into the speech cache and are read when rendered."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.decode import SAMPLE_RATE, as_float, decode_file
from ..audio.loudness import STEP, LoudnessMeter, integrated_from_steps
from ..errors import DuopodError
from ..labels import labels
from ..script.exchange import Meeting, TurnMeeting, meetings
from ..script.model import Script, Turn
from ..show.workspace import AudioSettings, MixSettings, MusicSettings
from ..speech.analysis import analyse
from ..speech.model import RenderedTurn, SentenceSpan
from ..speech.pcm import PcmFile
from .conversation import (
    BACKCHANNEL_LEAD,
    CUT_OFF_FADE,
    Pacing,
    backchannel_gain,
    duck_envelope,
    gap_seconds,
    overlap_seconds,
)
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
    speaker: str | None = None
    """Whose voice a speech clip is (a host's stem is their clips alone)."""

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

    def render(self, a: int, b: int, speaker: str | None = None) -> np.ndarray:
        """Samples [a, b) of the unmastered mix; indexes outside the episode are silence.
        With ``speaker``: that host's stem (their turns alone, as mixed)."""
        out = np.zeros((b - a, self.channels), dtype=np.float32)
        for i in np.flatnonzero((self._starts < b) & (self._ends > a)):
            clip = self.clips[i]
            if speaker is not None and clip.speaker != speaker:
                continue
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


@dataclass
class _Placed:
    """A turn placed on the episode (samples): its clips, where it starts and ends, and
    where its last sentence starts (a cut-off or a backchannel is measured from it)."""

    clips: list[Clip]
    start: int
    end: int
    last_sentence: int


def plan_mix(
    script: Script,
    rendered: list[RenderedTurn],
    settings: AudioSettings,
    music: MusicSettings | None = None,
    language: str = "en",
    mix: MixSettings | None = None,
) -> Layout:
    """Place every rendered turn with the gaps, overlaps and levels the conversation asks
    for (``mix``: show.toml's [mix]; ``settings``: [audio] with the script's pacing), with
    the music around and under them."""
    music = music or MusicSettings()
    pacing = Pacing(settings, mix or MixSettings())
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
    found = {m.index: m for m in meetings(script, backchannels=pacing.mix.backchannels,
                                          interruptions=pacing.mix.interruptions)}
    placed: dict[int, _Placed] = {}
    timeline_turns: list[TimelineTurn] = []
    section_starts: dict[int | None, float] = {}
    tail = cursor
    for position, item in enumerate(rendered):
        turn = item.turn
        analysis = item.speech.analysis or analyse(item.speech.samples)
        lo, hi = analysis.trim_start, analysis.trim_end
        if hi <= lo:
            raise DuopodError(
                f"{script.path}:{turn.line}: turn {turn.index + 1} rendered as silence"
            )
        previous = rendered[position - 1].turn if position else None
        meeting = _meeting(found.get(turn.index), previous, placed)
        start = _start(meeting, turn, previous, placed, cursor, pacing, script.meta.slug,
                       (hi - lo) / rate)
        if turn.section not in section_starts:
            boundary = start if position == 0 else (cursor + start) // 2
            section_starts[turn.section] = 0.0 if position == 0 else boundary / rate
        samples = _window(item.speech.samples, lo, hi)
        pan = 0.0 if len(hosts) < 2 else -0.3 + 0.6 * hosts.index(turn.speaker) / (len(hosts) - 1)
        gain = turn_gain(analysis.steps, samples)
        if meeting.kind is Meeting.BACKCHANNEL:
            gain *= backchannel_gain(pacing.mix)
        pauses = _pauses_within(turn, item.speech.sentences, lo, hi)
        if not pauses:
            own = [Clip(samples, start, gain, pan=pan, steps=analysis.steps, speech=True)]
        else:
            own = _opened_clips(item.speech.samples, lo, hi, start, gain, pan,
                                analysis.steps, pauses)
        for clip in own:
            clip.speaker = turn.speaker
        clips += own
        paused = sum(length for _at, length in pauses)
        seconds, duration = start / rate, (len(samples) + paused) / rate
        sentences = _placed_sentences(item.speech.sentences, seconds, lo / rate,
                                      len(samples) / rate, pauses)
        timeline_turns.append(
            TimelineTurn(turn.index, turn.speaker, turn.text, turn.section, seconds,
                         seconds + duration, sentences, _laughs(turn, sentences))
        )
        end = start + len(samples) + paused
        last = int(sentences[-1].start * rate) if sentences else start
        placed[turn.index] = _Placed(own, start, end, max(start, min(last, end)))
        if meeting.kind is Meeting.INTERRUPTION and previous is not None:
            _duck(placed[previous.index], start, pacing.mix)
        if meeting.kind is not Meeting.BACKCHANNEL:
            cursor = max(cursor, end)
        tail = max(tail, end)

    cursor = max(cursor, tail)
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


def _meeting(found: TurnMeeting | None, previous: Turn | None, placed: dict[int, _Placed]
             ) -> TurnMeeting:
    """How the turn meets the one before it here: as the script says, unless the turns it
    belongs with were not rendered (one turn heard alone)."""
    if previous is None or found is None:
        return TurnMeeting(-1, Meeting.FIRST if previous is None else Meeting.TURN)
    under = found.under
    if (under is not None and under not in placed) or (
            found.kind is Meeting.INTERRUPTION and previous.index not in placed):
        return TurnMeeting(found.index, Meeting.TURN)
    return found


def _start(meeting: TurnMeeting, turn: Turn, previous: Turn | None,
           placed: dict[int, _Placed], cursor: int, pacing: Pacing, slug: str,
           seconds: float) -> int:
    """Where the turn starts (samples): after the gap its meeting asks for and the pause
    directions at its edges; before the cut-off turn ends; under the host's sentence end."""
    rate = SAMPLE_RATE
    if previous is None:
        return cursor
    if meeting.kind is Meeting.BACKCHANNEL and meeting.under is not None:
        host = placed[meeting.under]
        return max(host.last_sentence, host.end - int(BACKCHANNEL_LEAD * rate))
    if meeting.kind is Meeting.INTERRUPTION:
        cut = placed[previous.index]
        overlap = overlap_seconds(pacing.mix, (cut.end - cut.last_sentence) / rate, seconds)
        return cut.end - int(overlap * rate)
    gap = gap_seconds(meeting.kind, slug, turn.index, pacing)
    # pause directions at a turn's edges ("（停顿）" on its own line) lengthen the gap
    scripted = previous.pause_after() + turn.pause_before()
    return cursor + int(gap * rate) + int(scripted * rate)


def _duck(cut: _Placed, start: int, mix: MixSettings) -> None:
    """The cut-off turn goes down under the turn cutting in from ``start`` and fades out
    its last moment: it is overtaken, never clipped."""
    envelope = duck_envelope(start, mix.interruption_duck_db)
    for clip in cut.clips:
        clip.envelope = envelope
    cut.clips[-1].fade_out = int(CUT_OFF_FADE * SAMPLE_RATE)


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
            spans[-1][1] = max(spans[-1][1], turn.end)
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


