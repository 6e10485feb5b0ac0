"""What an ``[openai]`` table of a voice profile may hold, checked without the engine.

``duopod check`` validates every engine table of every profile, and must answer in a
fraction of a second; the openai engine itself needs asyncio, numpy, the audio code and,
to send a request, aiohttp. So the validation lives here, in plain Python, and both the
registry (for the check) and ``OpenAIEngine.settings_for`` (for a build) call
``profile_settings``. The API has no voice list: any voice name passes here, and a server
that lacks it refuses the first request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ...show.workspace import VoiceProfile
from . import missing_setting, setting_error, unknown_setting
from .settings import EngineSettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "tts-1"
KEY_VARIABLE = "OPENAI_API_KEY"
FORMATS = ("wav", "pcm", "mp3")
_SETTINGS = ("voice", "model", "speed", "base_url", "response_format", "instructions",
             "api_key_env")


def environment_base_url(environ: Mapping[str, str] | None = None) -> str | None:
    value = (environ if environ is not None else os.environ).get("OPENAI_BASE_URL", "").strip()
    return value.rstrip("/") or None


@dataclass(frozen=True)
class OpenAISettings(EngineSettings):
    """An ``[openai]`` table, checked, with the defaults and the environment's choices
    filled in: everything that shapes the audio, and so the cache key. Never the key
    itself, only the name of the variable that holds it."""

    model: str = DEFAULT_MODEL
    speed: float = 1.0
    base_url: str = DEFAULT_BASE_URL
    response_format: str = "wav"
    api_key_env: str = KEY_VARIABLE
    instructions: str | None = None
    """None when the table gives none (then it is not in the cache key either)."""


def profile_settings(profile: VoiceProfile) -> OpenAISettings:
    """The profile's ``[openai]`` table, checked and filled in; InputError naming the
    profile's file and line."""
    raw = profile.settings("openai")
    _check_keys(raw, profile)
    voice = _text_setting(raw, "voice", profile)
    if voice is None:
        raise missing_setting(profile, "openai", "voice")
    response_format = _response_format(raw, profile)
    return OpenAISettings(
        voice,
        model=_text_setting(raw, "model", profile)
        or os.environ.get("OPENAI_TTS_MODEL", "").strip() or DEFAULT_MODEL,
        speed=_speed(raw, profile),
        base_url=_base_url(raw, profile),
        response_format=response_format,
        api_key_env=_text_setting(raw, "api_key_env", profile) or KEY_VARIABLE,
        instructions=_text_setting(raw, "instructions", profile) or None,
    )


def _text_setting(raw: dict[str, object], key: str, profile: VoiceProfile) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise setting_error(profile, "openai", key,
                            f"openai {key} in profile {profile.name!r} must be a non-empty "
                            "string")
    return value.strip()


def _check_keys(raw: dict[str, object], profile: VoiceProfile) -> None:
    if "api_key" in raw:
        raise setting_error(
            profile, "openai", "api_key",
            f"profile {profile.name!r} holds an API key: keys do not belong in files that "
            f"are shared with the show; set {KEY_VARIABLE} (or name another variable with "
            "api_key_env)")
    for key in raw:
        if key not in _SETTINGS:
            raise unknown_setting(profile, "openai", key, list(_SETTINGS))


def _speed(raw: dict[str, object], profile: VoiceProfile) -> float:
    speed = raw.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4:
        raise setting_error(profile, "openai", "speed",
                            f"openai speed in profile {profile.name!r} must be a number "
                            "from 0.25 to 4.0")
    return float(speed)


def _base_url(raw: dict[str, object], profile: VoiceProfile) -> str:
    base_url = (_text_setting(raw, "base_url", profile) or environment_base_url()
                or DEFAULT_BASE_URL).rstrip("/")
    if not re.match(r"^https?://[^\s/]+", base_url):
        raise setting_error(profile, "openai", "base_url",
                            f"openai base_url {base_url!r} in profile {profile.name!r} must "
                            "be an http(s) URL like http://localhost:8880/v1")
    return base_url


def _response_format(raw: dict[str, object], profile: VoiceProfile) -> str:
    response_format = raw.get("response_format", "wav")
    if response_format not in FORMATS:
        raise setting_error(profile, "openai", "response_format",
                            f"openai response_format in profile {profile.name!r} must be "
                            f"one of {', '.join(FORMATS)}")
    return str(response_format)
