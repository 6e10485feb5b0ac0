"""What an ``[edge]`` table of a voice profile may hold, checked without the engine.

``duopod check`` validates every engine table of every profile, and must answer in a
fraction of a second; the edge engine itself needs asyncio, numpy and the audio decoder.
So the validation lives here, in plain Python, and both the registry (for the check) and
``EdgeEngine.settings_for`` (for a build) call ``profile_settings``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...show.workspace import VoiceProfile
from . import missing_setting, setting_error, unknown_setting
from .settings import EngineSettings

_PROSODY = {
    "rate": (re.compile(r"^[+-]\d{1,3}%$"), "+0%", "like +10% or -5%"),
    "volume": (re.compile(r"^[+-]\d{1,3}%$"), "+0%", "like +10% or -5%"),
    "pitch": (re.compile(r"^[+-]\d{1,3}Hz$"), "+0Hz", "like +5Hz or -10Hz"),
}
"""Each prosody setting: (the pattern its value must match, its default, an example)."""
_VOICE = re.compile(r"^[a-z]{2,3}-[A-Za-z0-9]{2,8}(-[A-Za-z0-9]+)?-[A-Za-z]+Neural$")


@dataclass(frozen=True)
class EdgeSettings(EngineSettings):
    """An ``[edge]`` table, checked: a voice name and its prosody, every one present."""

    rate: str = "+0%"
    volume: str = "+0%"
    pitch: str = "+0Hz"


def profile_settings(profile: VoiceProfile) -> EdgeSettings:
    """The profile's voice and prosody, every prosody setting present (defaults filled in);
    InputError naming the profile's file and line. Whether the service offers the voice
    is asked only before a build renders (``EdgeEngine.check_voices``)."""
    raw = profile.settings("edge")
    voice = _voice(raw.get("voice"), profile)
    prosody = {key: _prosody(key, value, profile) for key, value in raw.items()
               if key != "voice"}
    defaults = {key: default for key, (_pattern, default, _example) in _PROSODY.items()}
    return EdgeSettings(voice, **{**defaults, **prosody})


def _voice(voice: object, profile: VoiceProfile) -> str:
    if not voice:
        raise missing_setting(profile, "edge", "voice")
    if not isinstance(voice, str) or not _VOICE.match(voice):
        raise setting_error(
            profile, "edge", "voice",
            f"edge voice {voice!r} in profile {profile.name!r} (host {profile.speaker!r}) "
            "is not a voice name like zh-CN-XiaoxiaoNeural")
    return voice


def _prosody(key: str, value: object, profile: VoiceProfile) -> str:
    if key not in _PROSODY:
        raise unknown_setting(profile, "edge", key, ["voice", *_PROSODY])
    pattern, _default, example = _PROSODY[key]
    if not isinstance(value, str) or not pattern.match(value):
        raise setting_error(
            profile, "edge", key,
            f"edge {key} {value!r} in profile {profile.name!r} (host "
            f"{profile.speaker!r}) is invalid: write it {example}")
    return value
