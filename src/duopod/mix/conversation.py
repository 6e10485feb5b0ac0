"""The conversation's timing: how long each speaker change waits, how far a cut-off voice
is overtaken and ducked, where a backchannel lies under the other host.

``script.exchange`` reads from the text how each turn meets the one before it; this turns
that into seconds with show.toml's ``[mix]`` (and ``[audio]``'s section gap). Every gap is
its kind's value moved by a deterministic jitter (a hash of the episode's slug and the
turn), so a rebuild is identical and no two gaps of a kind sound machine-equal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..audio.decode import SAMPLE_RATE
from ..script.exchange import Meeting
from ..show.workspace import AudioSettings, MixSettings

MIN_GAP = 0.04
"""No speaker change (but an interruption) is closer than this: 40 ms of air."""
DUCK_RAMP = 0.06
"""Seconds the cut-off voice takes to go down once the new one starts (no click, no
pumping)."""
CUT_OFF_FADE = 0.03
"""The cut-off voice's last 30 ms fade out, so even a tail trimmed mid-sound ends clean."""
BACKCHANNEL_LEAD = 0.1
"""A backchannel starts this long before the host's sentence ends: listeners murmur as the
phrase closes, not after a silence."""


@dataclass(frozen=True)
class Pacing:
    """The timing an episode is mixed with: show.toml's ``[mix]`` and ``[audio]`` with the
    script's own ``pacing:`` over them (``gap`` or ``gap_jitter`` there asks for that
    episode's even gaps)."""

    audio: AudioSettings
    mix: MixSettings

    @property
    def even(self) -> bool:
        return self.mix.timing == "even"


def _unit(slug: str, index: int) -> float:
    """A number in [-1, 1) fixed by the episode and the turn."""
    digest = hashlib.sha256(f"{slug}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 * 2 - 1


def gap_seconds(kind: Meeting, slug: str, index: int, pacing: Pacing) -> float:
    """The silence before turn ``index`` when it meets its predecessor as ``kind`` (not for
    interruptions and backchannels, which overlap: ``overlap_seconds``, ``lead``)."""
    if kind is Meeting.SECTION:
        return pacing.audio.section_gap
    unit = _unit(slug, index)
    if pacing.even:
        return max(0.05, pacing.audio.gap + unit * pacing.audio.gap_jitter)
    mix = pacing.mix
    base = {Meeting.ANSWER: mix.answer_gap, Meeting.QUICK: mix.quick_gap,
            Meeting.LONG: mix.long_gap}.get(kind, mix.gap)
    return max(MIN_GAP, base + unit * mix.jitter)


def overlap_seconds(mix: MixSettings, cut_sentence: float, next_turn: float) -> float:
    """How long before a cut-off turn ends the next one starts: ``interruption_overlap``,
    but never more than half the cut-off sentence or half the turn that cuts in."""
    return max(0.0, min(mix.interruption_overlap, cut_sentence / 2, next_turn / 2))


def duck_envelope(start: int, duck_db: float) -> tuple[np.ndarray, np.ndarray]:
    """A gain curve over episode samples: whole until ``start``, then down by ``duck_db``
    over DUCK_RAMP and held there (the cut-off voice under the one cutting in)."""
    ramp = int(DUCK_RAMP * SAMPLE_RATE)
    low = 10 ** (-duck_db / 20)
    return (np.array([0, start, start + ramp], dtype=np.float64),
            np.array([1.0, 1.0, low], dtype=np.float32))


def backchannel_gain(mix: MixSettings) -> float:
    return float(10 ** (mix.backchannel_db / 20))
