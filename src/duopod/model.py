"""The small typed objects passed between the pipeline's stages.

parse -> ``Script``; speech -> ``list[RenderedTurn]``; mix -> ``Timeline``; publish -> ``Episode``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE = 44_100
"""Every stage after the engines works at this sample rate."""


@dataclass(frozen=True)
class Source:
    """The article an episode discusses (front matter ``source:``)."""

    title: str | None = None
    provider: str | None = None
    author: str | None = None
    date: dt.date | None = None
    url: str | None = None
    file: Path | None = None
    text: str | None = None


@dataclass(frozen=True)
class EpisodeMeta:
    title: str
    date: dt.date
    slug: str
    category: str | None = None
    summary: str | None = None
    hosts: tuple[str, ...] = ()
    source: Source | None = None
    episode_number: int | None = None
    slug_given: bool = False
    """True when the slug came from the front matter or --slug, not from the title."""
    pacing: dict[str, float] = field(default_factory=dict)
    """Front matter ``pacing:`` overrides of show.toml's [audio] gap settings."""


@dataclass(frozen=True)
class Section:
    """A Markdown heading in the script: becomes a chapter."""

    title: str
    line: int


@dataclass(frozen=True)
class Turn:
    """One host's uninterrupted words."""

    index: int
    speaker: str
    text: str
    line: int
    section: int | None
    """Index into ``Script.sections``, or None before the first heading."""


@dataclass(frozen=True)
class Script:
    path: Path
    meta: EpisodeMeta
    turns: tuple[Turn, ...]
    sections: tuple[Section, ...]

    @property
    def hosts(self) -> tuple[str, ...]:
        return self.meta.hosts

    def characters_by_host(self) -> dict[str, int]:
        counts = dict.fromkeys(self.hosts, 0)
        for turn in self.turns:
            counts[turn.speaker] = counts.get(turn.speaker, 0) + len(turn.text)
        return counts


@dataclass(frozen=True)
class SentenceSpan:
    """A sentence and where it is heard, in seconds (relative to its owner's start)."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class SpeechAnalysis:
    """What the mix needs to know of a turn's audio, computed once and cached with it."""

    trim_start: int
    trim_end: int
    """The samples worth hearing: [trim_start, trim_end)."""
    steps: np.ndarray
    """K-weighted mean square per 100 ms of the trimmed audio (for loudness)."""


@dataclass
class Speech:
    """One turn's audio (mono at SAMPLE_RATE: float32 in [-1, 1] from an engine, 16-bit PCM
    read lazily from the cache once stored there) plus its sentence timings."""

    samples: np.ndarray
    sentences: list[SentenceSpan]
    analysis: SpeechAnalysis | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass
class RenderedTurn:
    turn: Turn
    speech: Speech
    cached: bool = False


@dataclass(frozen=True)
class TimelineTurn:
    """A turn placed in the final audio: absolute times in seconds."""

    index: int
    speaker: str
    text: str
    section: int | None
    start: float
    end: float
    sentences: tuple[SentenceSpan, ...]


@dataclass(frozen=True)
class Chapter:
    title: str
    start: float
    end: float


@dataclass(frozen=True)
class Timeline:
    """Who speaks when in the finished episode; every published output derives from it."""

    turns: tuple[TimelineTurn, ...]
    chapters: tuple[Chapter, ...]
    duration: float

    def to_dict(self) -> dict:
        return {
            "duration": round(self.duration, 3),
            "chapters": [
                {"title": c.title, "start": round(c.start, 3), "end": round(c.end, 3)}
                for c in self.chapters
            ],
            "turns": [
                {
                    "index": t.index,
                    "speaker": t.speaker,
                    "section": t.section,
                    "start": round(t.start, 3),
                    "end": round(t.end, 3),
                    "text": t.text,
                    "sentences": [
                        {"text": s.text, "start": round(s.start, 3), "end": round(s.end, 3)}
                        for s in t.sentences
                    ],
                }
                for t in self.turns
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Timeline:
        return cls(
            turns=tuple(
                TimelineTurn(
                    index=t["index"],
                    speaker=t["speaker"],
                    text=t["text"],
                    section=t["section"],
                    start=t["start"],
                    end=t["end"],
                    sentences=tuple(SentenceSpan(**s) for s in t["sentences"]),
                )
                for t in data["turns"]
            ),
            chapters=tuple(Chapter(**c) for c in data["chapters"]),
            duration=data["duration"],
        )
