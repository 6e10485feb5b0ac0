"""What every engine's validated settings have in common: a frozen dataclass per engine.

A voice profile's ``[engine]`` table is TOML, read as a dict; each engine's settings module
checks it field by field and returns its own frozen dataclass (``EspeakSettings``,
``KokoroSettings``, ...), so everything after that check (the render, the cache key, the
studio) reads typed fields rather than looking up strings.

The speech cache names a turn by the settings among other things (``speech.cache``): its
key holds ``cache_fields()``, every field by its name with the ones left unset (None)
omitted, which is exactly the dict the engines returned before they had dataclasses, so a
cache filled then still answers. A field that must not change the audio's key does not
belong in these classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Self

__all__ = ["EngineSettings", "PlainSettings", "settings_of"]


@dataclass(frozen=True)
class EngineSettings:
    """One host's validated settings for one engine (an engine's subclass adds its own)."""

    voice: str
    """What the engine calls the voice (espeak's ``cmn+f3``, kokoro's ``zm_yunxi``)."""

    def cache_fields(self) -> dict[str, object]:
        """The settings as a speech cache key holds them: each field that is set."""
        found = {item.name: getattr(self, item.name) for item in fields(self)}
        return {name: value for name, value in found.items() if value is not None}

    @classmethod
    def of(cls, settings: EngineSettings) -> Self:
        """``settings`` as this engine's own class: an engine is only ever handed the
        settings its own ``settings_for`` made, so another class is a programming error."""
        if not isinstance(settings, cls):
            raise TypeError(f"{cls.__name__} expected, got {type(settings).__name__}")
        return settings


@dataclass(frozen=True)
class PlainSettings(EngineSettings, Mapping[str, object]):
    """The settings of a plug-in engine written before engines had dataclasses: its
    ``settings_for`` returned the dict itself. Kept as that dict (this is a Mapping, so
    the engine's own ``settings["voice"]`` still reads it) and keyed in the speech cache
    by it, exactly as before."""

    table: Mapping[str, object] = field(default_factory=dict)

    def cache_fields(self) -> dict[str, object]:
        return dict(self.table)

    def __getitem__(self, key: str) -> object:
        return self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


def settings_of(found: EngineSettings | Mapping[str, object]) -> EngineSettings:
    """What an engine's ``settings_for`` returned, as an ``EngineSettings``: a plug-in
    engine's plain dict is wrapped (``PlainSettings``), never refused."""
    if isinstance(found, EngineSettings):
        return found
    return PlainSettings(str(found.get("voice", "")), dict(found))
