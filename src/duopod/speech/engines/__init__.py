"""Speech engines: each turns one host's turn of text into ``Speech``.

An engine is chosen by name (``edge``, ``espeak``, or ``auto``). Engines are async so that
network engines can render turns concurrently; the offline engine simply runs in a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ...errors import InputError
from ...workspace import VoiceProfile
from ..model import Speech


class Engine(Protocol):
    name: str

    @property
    def version(self) -> str:
        """Part of every cache key: a new engine version re-renders."""
        ...

    def settings_for(self, profile: VoiceProfile) -> dict[str, Any]:
        """The profile's validated settings for this engine; InputError naming the profile."""
        ...

    async def check_voices(self, voices: dict[str, tuple[VoiceProfile, dict[str, Any]]]
                           ) -> None:
        """Before rendering: refuse (InputError) voices the engine does not have, keyed by
        host name."""
        ...

    async def render(self, text: str, settings: dict[str, Any],
                     notify: Callable[[str], None] | None = None) -> Speech:
        """Speak ``text`` with ``settings``; raise EngineError when it cannot. ``notify``
        hears about retries."""
        ...


ENGINE_NAMES = ("auto", "edge", "espeak")


def get_engine(name: str, **options: Any) -> Engine:
    """An engine by name; ``auto`` is resolved by ``build.resolve_engine`` before this."""
    if name == "espeak":
        from .espeak import EspeakEngine

        return EspeakEngine()
    if name == "edge":
        from .edge import EdgeEngine

        return EdgeEngine(**options)
    raise InputError(f"unknown engine {name!r} (choose from {', '.join(ENGINE_NAMES)})")


def missing_setting(profile: VoiceProfile, engine: str, key: str) -> InputError:
    return InputError(
        f"voice profile {profile.name!r} (host {profile.speaker!r}) has no [{engine}] {key}",
        profile.path,
    )


def unknown_setting(profile: VoiceProfile, engine: str, key: str, known: list[str]
                    ) -> InputError:
    return InputError(
        f"unknown {engine} setting {key!r} in profile {profile.name!r} "
        f"(known: {', '.join(known)})", profile.path,
    )
