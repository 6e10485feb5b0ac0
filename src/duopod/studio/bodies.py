"""What each of the studio's JSON endpoints takes, one frozen dataclass per endpoint.

The pages (``static/editor.js``, ``static/app.js``) post these bodies; ``app._body``
reads one with ``shapes.shaped`` before the handler runs, so a handler reads typed fields
and a bad field is a 400 naming it (``turn: a whole number is needed``), never a KeyError
or a 500. A check beyond the field's type (a range, a field another one makes necessary)
is in the class's ``__post_init__``. Fields the page sends that an endpoint does not use
are ignored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from ..shapes import ShapeError

__all__ = ["AsideBody", "BuildBody", "CheckBody", "DraftBody", "HearBody", "LexiconBody",
           "NewBody", "SaveBody", "StaleBody", "StatusBody", "UnpublishBody", "UnsavedBody"]


@dataclass(frozen=True)
class CheckBody:
    """``/api/check``: the editor's unsaved text, checked as a build would; with
    ``engine``, how many turns a build in it would render is counted too."""

    name: str
    text: str
    engine: str | None = None


@dataclass(frozen=True)
class SaveBody:
    """``/api/save``: the text, and the SHA-256 of the file as the editor opened it;
    ``over_theirs``: the producer chose "keep mine" in a conflict."""

    name: str
    text: str
    sha256: str
    over_theirs: bool = False


@dataclass(frozen=True)
class AsideBody:
    """``/api/diff`` and ``/api/aside``: the editor's text for a script, to compare with
    the file or to keep a copy of."""

    name: str
    text: str


@dataclass(frozen=True)
class UnsavedBody:
    """``/api/unsaved``: the editor's unsaved text (None: there is none any more), the
    version it was typed over and when (milliseconds since 1970)."""

    name: str
    text: str | None = None
    base: str = ""
    at: int = 0

    def __post_init__(self) -> None:
        if self.text is not None and not 0 <= self.at < 2**53:
            raise ShapeError("milliseconds since 1970 are needed", ("at",))


@dataclass(frozen=True)
class NewBody:
    """``/api/new``: a new script's title."""

    title: str


@dataclass(frozen=True)
class DraftBody:
    """``/api/draft``: an article for the writers' room, and the episode's length."""

    article: str
    minutes: float = 5.0
    title: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if not 0.5 <= self.minutes <= 120:
            raise ShapeError("a number from 0.5 to 120 is needed", ("minutes",))


@dataclass(frozen=True)
class HearBody:
    """``/api/hear``: one turn (or one sentence of it) of the script as the editor holds it
    (``text``; None: the saved file), in ``engine`` (None or "": the studio's)."""

    name: str
    turn: int
    sentence: int | None = None
    text: str | None = None
    engine: str | None = None
    exchange: bool = False
    """The turns around ``turn`` (``hearing.exchange_of``), mixed as the build mixes them."""


@dataclass(frozen=True)
class StaleBody:
    """``/api/stale``: how many turns a build with ``engine`` would render."""

    name: str
    text: str | None = None
    engine: str | None = None


@dataclass(frozen=True)
class BuildBody:
    """``/api/build``: build the saved script (what is built is what is on disk)."""

    name: str
    engine: str | None = None


@dataclass(frozen=True)
class LexiconBody:
    """``/api/lexicon``: try a spelling on a turn (``save`` false), keep it in lexicon.toml
    (``save`` true) or in the script's front matter (``save`` "script")."""

    written: str
    spoken: str
    save: bool | Literal["script"] = False
    name: str | None = None
    language: str | None = None
    sha256: str | None = None
    turn: int | None = None
    sentence: int | None = None
    text: str | None = None
    engine: str | None = None

    def __post_init__(self) -> None:
        if self.save is not True and self.name is None:
            raise ShapeError("missing", ("name",))
        if self.save is False and self.turn is None:
            raise ShapeError("missing: which turn to try it on", ("turn",))


@dataclass(frozen=True)
class StatusBody:
    """``/api/status``: set the script's front matter to draft, published, or scheduled
    ``at`` a moment (ISO 8601)."""

    name: str
    status: Literal["draft", "published", "scheduled"]
    at: str | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if self.status == "scheduled":
            try:
                dt.datetime.fromisoformat(self.at or "")
            except ValueError:
                raise ShapeError("a moment like 2030-01-02T07:30:00+08:00 is needed for a "
                                 "scheduled episode", ("at",)) from None

    def moment(self) -> dt.datetime:
        """When a scheduled episode joins the feed."""
        return dt.datetime.fromisoformat(self.at or "")


@dataclass(frozen=True)
class UnpublishBody:
    """``/api/unpublish``: the episode to take down."""

    slug: str
