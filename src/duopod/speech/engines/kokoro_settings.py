"""What a ``[kokoro]`` table of a voice profile may hold, checked without the engine.

``duopod check`` validates every engine table of every profile, and must answer in a
fraction of a second; the kokoro engine itself needs numpy, onnxruntime and the audio
code. The voices are the files vendored with duopod (``kokoro_model.voice_names``), so
checking a profile imports none of those. Both the registry (for the check, through
``settings_if_installed``) and ``KokoroEngine.settings_for`` (for a build) call
``profile_settings``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ...show.workspace import VoiceProfile
from . import missing_setting, setting_error, unknown_setting
from .kokoro_backend import key_of, resolve
from .kokoro_model import unavailable, voice_names
from .settings import EngineSettings

SPEED_RANGE = (0.5, 2.0)
LANGUAGES = {"z": ("zh-CN", "Mandarin"), "a": ("en-US", "American English"),
             "b": ("en-GB", "British English")}
"""The languages the front end speaks, by the first letter of Kokoro's voice names."""


@dataclass(frozen=True)
class KokoroSettings(EngineSettings):
    """A ``[kokoro]`` table, checked: one of the vendored voices and its speed."""

    speed: float = 1.0
    backend: str | None = None
    """The backend when it is not onnxruntime's int8 (``kokoro_backend.key_of``); None is
    left out of the cache key, so onnxruntime's entries keep the key they always had."""


def settings_if_installed(profile: VoiceProfile) -> KokoroSettings:
    """``profile_settings`` where the engine is installed, else ImportError: ``duopod
    check`` then passes over kokoro tables, as it passes over any engine not installed."""
    reason = unavailable()
    if reason:
        raise ImportError(f"the kokoro engine is {reason}")
    return profile_settings(profile)


KNOWN = ["voice", "speed", "backend"]


def profile_settings(profile: VoiceProfile) -> KokoroSettings:
    """The profile's voice and speed, and the backend that will speak them when it is
    not onnxruntime (``kokoro_backend.key_of``: in the settings, so in the cache key);
    InputError naming the profile's file and line."""
    raw = profile.settings("kokoro")
    if "voice" not in raw:
        raise missing_setting(profile, "kokoro", "voice")
    for key in raw:
        if key not in KNOWN:
            raise unknown_setting(profile, "kokoro", key, KNOWN)
    backend = key_of(resolve(str(raw.get("backend", "auto")).lower(),
                             f"profile {profile.name!r}, {profile.path.name}"))
    return KokoroSettings(_voice(str(raw["voice"]), profile),
                          _speed(raw.get("speed", 1.0), profile), backend or None)


def _voice(voice: str, profile: VoiceProfile) -> str:
    if voice not in voice_names() or voice[:1] not in LANGUAGES:
        raise setting_error(
            profile, "kokoro", "voice",
            f"kokoro has no voice {voice!r} (profile {profile.name!r}, host "
            f"{profile.speaker!r}); choose from {', '.join(voice_names())}")
    return voice


def _speed(speed: Any, profile: VoiceProfile) -> float:
    low, high = SPEED_RANGE
    if (isinstance(speed, bool) or not isinstance(speed, int | float)
            or not math.isfinite(speed) or not low <= speed <= high):
        raise setting_error(profile, "kokoro", "speed",
                            f"kokoro speed in profile {profile.name!r} must be a number "
                            f"from {low} to {high}")
    return float(speed)
