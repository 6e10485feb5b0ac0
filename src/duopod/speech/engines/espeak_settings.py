"""What an ``[espeak]`` table of a voice profile may hold, checked without the engine.

``duopod check`` validates every engine table of every profile, and must answer in a
fraction of a second; the espeak engine itself needs numpy and the audio code to turn
samples into speech. Whether a voice exists can only be asked of espeak-ng, so this loads
the library (``espeak_library``, a few milliseconds) but nothing more. Both the registry
(for the check) and ``EspeakEngine.settings_for`` (for a build) call ``profile_settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...show.workspace import VoiceProfile
from . import missing_setting, setting_error, unknown_setting
from .espeak_library import PARAMETERS, library
from .settings import EngineSettings


@dataclass(frozen=True)
class EspeakSettings(EngineSettings):
    """An ``[espeak]`` table, checked: the voice with its variant joined on (``cmn+f3``)
    and the parameters the profile sets (None: espeak-ng's own default)."""

    rate: int | None = None
    volume: int | None = None
    pitch: int | None = None
    range: int | None = None
    word_gap: int | None = None

    def parameters(self) -> dict[str, int]:
        """The parameters set, by their ``PARAMETERS`` name."""
        found = {key: getattr(self, key) for key in PARAMETERS}
        return {key: value for key, value in found.items() if value is not None}


def profile_settings(profile: VoiceProfile) -> EspeakSettings:
    """The profile's voice (its variant joined on: ``cmn+f3``) and parameters; InputError
    naming the profile's file and line, also for a voice espeak-ng does not have."""
    raw = profile.settings("espeak")
    if "voice" not in raw:
        raise missing_setting(profile, "espeak", "voice")
    voice = str(raw["voice"])
    if raw.get("variant"):
        voice += f"+{raw['variant']}"
    parameters = {key: _parameter(key, value, profile) for key, value in raw.items()
                  if key not in ("voice", "variant")}
    _check_voice(voice, profile)
    return EspeakSettings(voice, **parameters)


def _parameter(key: str, value: Any, profile: VoiceProfile) -> int:
    if key not in PARAMETERS:
        raise unknown_setting(profile, "espeak", key, ["voice", "variant", *PARAMETERS])
    _, low, high = PARAMETERS[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise setting_error(profile, "espeak", key,
                            f"espeak {key} in profile {profile.name!r} must be a whole "
                            f"number from {low} to {high}")
    return value


def _check_voice(voice: str, profile: VoiceProfile) -> None:
    lib = library()
    with lib.lock:
        known = lib.set_voice(voice)
    if not known:
        raise setting_error(
            profile, "espeak", "voice",
            f"espeak-ng has no voice {voice!r} (profile {profile.name!r}, "
            f"host {profile.speaker!r}); see 'duopod voices --engine espeak'")
