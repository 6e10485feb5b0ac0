"""What the mix stage hands on: the ``Timeline``, who speaks when in the finished episode."""

from __future__ import annotations

from dataclasses import dataclass

from ..shapes import shaped
from ..speech.model import SentenceSpan


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
    laughs: tuple[tuple[int, str], ...] = ()
    """Laugh directions of the script, for the transcript: (index of the sentence the laugh
    follows, or -1 before the first; the direction as written, e.g. "笑" or "laughs")."""


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

    def to_dict(self) -> dict[str, object]:
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
                    **({"laughs": [list(laugh) for laugh in t.laughs]} if t.laughs else {}),
                }
                for t in self.turns
            ],
        }

    @classmethod
    def from_dict(cls, data: object) -> Timeline:
        """What ``to_dict`` wrote, checked field by field (``shapes.ShapeError``, a
        ValueError naming the field, for anything else)."""
        return shaped(cls, data)
