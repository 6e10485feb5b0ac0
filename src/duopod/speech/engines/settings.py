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

from dataclasses import dataclass, fields
from typing import Self

__all__ = ["EngineSettings"]


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
