"""show.toml's ``[feed]`` table: the extra audio renditions a build makes beside the MP3
(``renditions = ["aac-48k"]``) and the titles of the show's feeds in other languages
(``[feed."en-US"] title = ...``). Plain data, read here so that the mix and publish stages
and ``duopod check`` see one parsed form; docs/languages.md argues the choices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError


@dataclass(frozen=True)
class Rendition:
    """One extra encoding of every episode, named ``CODEC-BITRATEk`` in show.toml."""

    codec: str
    """``aac`` (an .m4a: AAC-LC in MP4, plays in every podcast app) or ``opus`` (Ogg Opus:
    smaller at a given quality, but Apple's apps do not play it)."""
    bitrate_kbps: int

    @property
    def name(self) -> str:
        return f"{self.codec}-{self.bitrate_kbps}k"

    @property
    def extension(self) -> str:
        return RENDITION_CODECS[self.codec][0]

    @property
    def mime(self) -> str:
        return RENDITION_CODECS[self.codec][1]

    @property
    def codecs(self) -> str:
        """RFC 6381 (podcast:alternateEnclosure's ``codecs``)."""
        return RENDITION_CODECS[self.codec][2]

    @property
    def short(self) -> str:
        """``AAC 48k``, ``Opus 24k``."""
        return f"{'AAC' if self.codec == 'aac' else 'Opus'} {self.bitrate_kbps}k"

    @property
    def title(self) -> str:
        """podcast:alternateEnclosure's ``title`` (the namespace asks for 32 characters at
        most)."""
        return f"Low bandwidth ({self.short})"


RENDITION_CODECS = {
    "aac": (".m4a", "audio/mp4", "mp4a.40.2"),
    "opus": (".opus", "audio/ogg", "opus"),
}
"""codec -> (file extension, MIME type, RFC 6381 codecs string)."""
RENDITION_BITRATES = (16, 256)
"""kbit/s a rendition may have (below 16 even speech breaks up; above 256 it is no longer
a low-bandwidth copy of a 128 kbit/s MP3)."""
_NAME = re.compile(r"(aac|opus)-([0-9]{2,3})k")


@dataclass(frozen=True)
class LanguageFeed:
    """``[feed."en-US"]``: what the feed of the show's episodes in that language says."""

    language: str
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class FeedSettings:
    renditions: tuple[Rendition, ...] = ()
    """Off unless asked (docs/languages.md says why)."""
    languages: tuple[LanguageFeed, ...] = ()

    def language_feed(self, language: str) -> LanguageFeed:
        for entry in self.languages:
            if entry.language.lower() == language.lower():
                return entry
        return LanguageFeed(language)


_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


def parse_feed_settings(table: dict[str, object], path: Path) -> FeedSettings:
    """``[feed]`` as read from show.toml (an empty table: the defaults)."""
    renditions: list[Rendition] = []
    languages: list[LanguageFeed] = []
    for key, value in table.items():
        if key == "renditions":
            renditions = _renditions(value, path)
        elif isinstance(value, dict) and _LANGUAGE.match(key):
            languages.append(_language_feed(key, value, path))
        else:
            raise InputError(f"unknown field 'feed.{key}' (known: renditions, and one "
                             "[feed.\"LANGUAGE\"] table per language, e.g. [feed.\"en-US\"])",
                             path)
    return FeedSettings(tuple(renditions), tuple(languages))


def parse_rendition(name: str) -> Rendition | None:
    match = _NAME.fullmatch(name)
    if not match:
        return None
    rendition = Rendition(match.group(1), int(match.group(2)))
    low, high = RENDITION_BITRATES
    return rendition if low <= rendition.bitrate_kbps <= high else None


def _renditions(value: Any, path: Path) -> list[Rendition]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("field 'feed.renditions' must be a list of names like "
                         "[\"aac-48k\"]", path)
    found: list[Rendition] = []
    for name in value:
        rendition = parse_rendition(name)
        if rendition is None:
            low, high = RENDITION_BITRATES
            raise InputError(f"field 'feed.renditions': {name!r} is not a rendition (write "
                             f"aac-48k or opus-24k: aac or opus, {low} to {high} kbit/s)",
                             path)
        if rendition not in found:
            found.append(rendition)
    if len({r.extension for r in found}) < len(found):
        raise InputError("field 'feed.renditions': one rendition per codec (each is one file "
                         "beside the MP3)", path)
    return found


def _language_feed(language: str, table: dict[str, object], path: Path) -> LanguageFeed:
    unknown = sorted(set(table) - {"title", "description"})
    if unknown:
        raise InputError(f"unknown field 'feed.\"{language}\".{unknown[0]}' (known: title, "
                         "description)", path)
    def text(key: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InputError(f"field 'feed.\"{language}\".{key}' must be text", path)
        return value

    return LanguageFeed(language, text("title"), text("description"))
