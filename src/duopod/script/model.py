"""What the parse stage hands on: a ``Script`` (its metadata, turns and sections)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    guests: tuple[str, ...] = ()
    """Front matter ``guests:``: speakers besides the hosts, each with a voice profile."""
    written_by: str | None = None
    """Front matter ``written_by:``: the language model that wrote the words (``duopod
    draft`` and ``translate`` put it there); the feed discloses it (podcast:txt
    ai-content)."""
    source: Source | None = None
    episode_number: int | None = None
    slug_given: bool = False
    """True when the slug came from the front matter or --slug, not from the title."""
    pacing: dict[str, float] = field(default_factory=dict)
    """Front matter ``pacing:`` overrides of show.toml's [audio] gap settings."""
    lifecycle: Lifecycle = field(default_factory=lambda: Lifecycle())
    lexicon: ScriptLexicon | None = None
    """Front matter ``lexicon:``, over the show's lexicon.toml."""


@dataclass(frozen=True)
class ScriptLexicon:
    """A script's ``lexicon:`` as written: nested tables (top level, language, engine) and
    the line of every key. The speech stage checks and compiles it (``speech.lexicon``),
    since only it knows the engines."""

    tables: dict[str, Any]
    lines: dict[tuple[str, ...], int]


@dataclass(frozen=True)
class Lifecycle:
    """When and how an episode is published (front matter; the show's defaults otherwise)."""

    language: str | None = None
    """The episode's language tag; None: the show's."""
    status: str = "published"
    """``draft`` builds and previews but never enters the feed or the index."""
    publish_at: dt.datetime | None = None
    """An exact moment (with its offset); else the date at the time of day below."""
    time: dt.time | None = None
    season: int | None = None
    episode_type: str = "full"
    """full, trailer or bonus (Apple's itunes:episodeType)."""
    image: Path | None = None
    """The episode's own square art (checked like the show's cover)."""
    explicit: bool | None = None
    """None: the show's setting."""
    translation_of: str | None = None
    """The slug of the episode this one is a version of in another language."""


@dataclass(frozen=True)
class Section:
    """A Markdown heading in the script: becomes a chapter."""

    title: str
    line: int


@dataclass(frozen=True)
class Direction:
    """A stage direction kept from the script (``（停顿）``, ``[laughs]``): never spoken, but
    a pause the mix can honour or a laugh a transcript can mark."""

    kind: str
    """"pause" or "laugh"."""
    label: str
    """As written inside the brackets, e.g. "停顿2秒" or "laughs"."""
    position: int
    """Characters of the turn's text before it: 0 opens the turn, len(text) closes it."""
    seconds: float = 0.0
    """For a pause: how long."""


@dataclass(frozen=True)
class Turn:
    """One host's uninterrupted words."""

    index: int
    speaker: str
    text: str
    """What is spoken: stage directions and Markdown emphasis already taken out."""
    line: int
    section: int | None
    """Index into ``Script.sections``, or None before the first heading."""
    directions: tuple[Direction, ...] = ()

    def pause_before(self) -> float:
        """Seconds of pause directions before the turn's first word: the mix lengthens the
        gap before the turn by them."""
        return sum(d.seconds for d in self.directions
                   if d.kind == "pause" and not _has_words(self.text[: d.position]))

    def pause_after(self) -> float:
        """Seconds of pause directions after the turn's last word (punctuation aside): the
        mix lengthens the gap after the turn by them."""
        return sum(d.seconds for d in self.directions
                   if d.kind == "pause" and _has_words(self.text[: d.position])
                   and not _has_words(self.text[d.position :]))


    def pauses_within(self) -> tuple[Direction, ...]:
        """Pause directions with words on both sides: the mix opens the turn there."""
        return tuple(d for d in self.directions if d.kind == "pause"
                     and _has_words(self.text[: d.position])
                     and _has_words(self.text[d.position :]))


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)


@dataclass(frozen=True)
class OneOffSpeaker:
    """A name-like line, met once between turns, that names no host: without ``hosts:``
    it is read as the start of the previous host's next words (``董小姐: 王老师我补充一句``),
    so a guest's line would be spoken by a host."""

    name: str
    line: int
    host: str
    """The host whose turn swallowed it."""

    def message(self) -> str:
        return (f"{self.name!r} stands alone like a speaker's name but is not a host, so it "
                f"is read as part of {self.host}'s turn; list the hosts in the front matter "
                f"(hosts: [...]) to settle who speaks, or add the speaker's voice profile")


@dataclass(frozen=True)
class Script:
    path: Path
    meta: EpisodeMeta
    turns: tuple[Turn, ...]
    sections: tuple[Section, ...]
    one_off_speakers: tuple[OneOffSpeaker, ...] = ()
    """Name-like lines read as dialogue because no ``hosts:`` settled them: a warning in
    ``duopod check``, an error in a build (``parse.refuse_one_off_speakers``)."""

    @property
    def hosts(self) -> tuple[str, ...]:
        return self.meta.hosts

    @property
    def speakers(self) -> tuple[str, ...]:
        """Everyone who speaks: the hosts, then the guests (each in their own voice)."""
        return (*self.meta.hosts, *self.meta.guests)

    def first_lines(self) -> dict[str, int]:
        """Each host's first line in the file (where an error about the host points)."""
        lines: dict[str, int] = {}
        for turn in self.turns:
            lines.setdefault(turn.speaker, turn.line)
        return lines

    def characters_by_host(self) -> dict[str, int]:
        counts = dict.fromkeys(self.speakers, 0)
        for turn in self.turns:
            counts[turn.speaker] = counts.get(turn.speaker, 0) + len(turn.text)
        return counts
