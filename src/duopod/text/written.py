"""Show notes written by a language model: the plain data a page renders (no numpy, no
model code), defined here so publish, below draft, can render what draft writes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WrittenSummary:
    """Show notes written by a language model from the article, like the example page's
    report summary: a headline, the source's author and date, ``###`` sections of ``*``
    points. Made by ``duopod.draft.notes.write_notes``; plain data here so that publish
    (below draft) can render it."""

    headline: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    """(heading, points) in order."""
    language: str
    author: str | None = None
    date: str | None = None
    model: str = ""
    """Which model wrote it: the page says so."""

    def to_json(self) -> dict[str, object]:
        return {"headline": self.headline, "author": self.author, "date": self.date,
                "language": self.language, "model": self.model,
                "sections": [{"heading": h, "points": list(p)} for h, p in self.sections]}

    @classmethod
    def from_json(cls, data: object) -> WrittenSummary | None:
        """The summary ``to_json`` wrote; None for anything else (an old or damaged record)."""
        if not isinstance(data, dict):
            return None
        try:
            sections = tuple((str(s["heading"]), tuple(str(p) for p in s["points"]))
                             for s in data["sections"])
            return cls(str(data["headline"]), sections, str(data["language"]),
                       _text_or_none(data.get("author")), _text_or_none(data.get("date")),
                       str(data.get("model") or ""))
        except (KeyError, TypeError):
            return None


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)
