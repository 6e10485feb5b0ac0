"""What an ``[edge]`` table of a voice profile may hold, checked without the engine.

``duopod check`` validates every engine table of every profile, and must answer in a
fraction of a second; the edge engine itself needs asyncio, numpy and the audio decoder.
So the validation lives here, in plain Python, and both the registry (for the check) and
``EdgeEngine.settings_for`` (for a build) call ``profile_settings``.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import InputError
from ...show.workspace import VoiceProfile
from . import missing_setting, unknown_setting

_PROSODY = {
    "rate": (re.compile(r"^[+-]\d{1,3}%$"), "+0%", "like +10% or -5%"),
    "volume": (re.compile(r"^[+-]\d{1,3}%$"), "+0%", "like +10% or -5%"),
    "pitch": (re.compile(r"^[+-]\d{1,3}Hz$"), "+0Hz", "like +5Hz or -10Hz"),
}
"""Each prosody setting: (the pattern its value must match, its default, an example)."""
_VOICE = re.compile(r"^[a-z]{2,3}-[A-Za-z0-9]{2,8}(-[A-Za-z0-9]+)?-[A-Za-z]+Neural$")


def profile_settings(profile: VoiceProfile) -> dict[str, Any]:
    """The profile's voice and prosody, every prosody setting present (defaults filled in);
    InputError naming the profile. Whether the service offers the voice is asked only
    before a build renders (``EdgeEngine.check_voices``)."""
    raw = profile.settings("edge")
    settings = {"voice": _voice(raw.get("voice"), profile)}
    for key, value in raw.items():
        if key != "voice":
            settings[key] = _prosody(key, value, profile)
    for key, (_pattern, default, _example) in _PROSODY.items():
        settings.setdefault(key, default)
    return settings


def _voice(voice: Any, profile: VoiceProfile) -> str:
    if not voice:
        raise missing_setting(profile, "edge", "voice")
    if not isinstance(voice, str) or not _VOICE.match(voice):
        raise InputError(
            f"edge voice {voice!r} in profile {profile.name!r} (host {profile.speaker!r}) "
            "is not a voice name like zh-CN-XiaoxiaoNeural", profile.path,
        )
    return voice


def _prosody(key: str, value: Any, profile: VoiceProfile) -> str:
    if key not in _PROSODY:
        raise unknown_setting(profile, "edge", key, ["voice", *_PROSODY])
    pattern, _default, example = _PROSODY[key]
    if not isinstance(value, str) or not pattern.match(value):
        raise InputError(
            f"edge {key} {value!r} in profile {profile.name!r} (host "
            f"{profile.speaker!r}) is invalid: write it {example}", profile.path,
        )
    return value
