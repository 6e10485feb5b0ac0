"""What an ``[espeak]`` table of a voice profile may hold, checked without the engine.

``duopod check`` validates every engine table of every profile, and must answer in a
fraction of a second; the espeak engine itself needs numpy and the audio code to turn
samples into speech. Whether a voice exists can only be asked of espeak-ng, so this loads
the library (``espeak_library``, a few milliseconds) but nothing more. Both the registry
(for the check) and ``EspeakEngine.settings_for`` (for a build) call ``profile_settings``.
"""

from __future__ import annotations

from typing import Any

from ...errors import InputError
from ...show.workspace import VoiceProfile
from . import missing_setting, unknown_setting
from .espeak_library import PARAMETERS, library


def profile_settings(profile: VoiceProfile) -> dict[str, Any]:
    """The profile's voice (its variant joined on: ``cmn+f3``) and parameters; InputError
    naming the profile, also for a voice espeak-ng does not have."""
    raw = profile.settings("espeak")
    if "voice" not in raw:
        raise missing_setting(profile, "espeak", "voice")
    settings: dict[str, Any] = {"voice": str(raw["voice"])}
    if raw.get("variant"):
        settings["voice"] += f"+{raw['variant']}"
    for key, value in raw.items():
        if key not in ("voice", "variant"):
            settings[key] = _parameter(key, value, profile)
    _check_voice(settings["voice"], profile)
    return settings


def _parameter(key: str, value: Any, profile: VoiceProfile) -> int:
    if key not in PARAMETERS:
        raise unknown_setting(profile, "espeak", key, ["voice", "variant", *PARAMETERS])
    _, low, high = PARAMETERS[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(
            f"espeak {key} in profile {profile.name!r} must be a whole number "
            f"from {low} to {high}", profile.path,
        )
    return value


def _check_voice(voice: str, profile: VoiceProfile) -> None:
    lib = library()
    with lib.lock:
        known = lib.set_voice(voice)
    if not known:
        raise InputError(
            f"espeak-ng has no voice {voice!r} (profile {profile.name!r}, "
            f"host {profile.speaker!r}); see 'duopod voices --engine espeak'", profile.path,
        )
