"""The voice profiles (``voices/<name>.toml``): how each host sounds, one table per
engine, with tables of their own for episodes in other languages (``[kokoro."en-US"]``).

Read with show.toml, once (``show.config``). An engine table stays as written here: the
speech stage's engine registry checks each one against the engine's own settings (this
floor imports no stage); ``VoiceProfile.place`` keeps the file so that check can name the
line the parser found a field on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from .fields import Fields
from .toml import TomlFile, load_toml

__all__ = ["LANGUAGE_TAG", "VoiceProfile", "is_language_table", "load_profiles"]

LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
"""What a language tag looks like (BCP 47, loosely): zh-CN, en-US, en, cmn."""
_PRIMARY_ALIASES = {"cmn": "zh", "yue": "zh", "zho": "zh", "eng": "en"}


@dataclass(frozen=True)
class VoiceProfile:
    """voices/<name>.toml: how one host sounds, per engine."""

    name: str
    speaker: str
    path: Path
    engines: dict[str, dict[str, Any]]
    """Each engine's table as TOML gave it (the engine's settings module reads it)."""
    toml: TomlFile | None = field(default=None, compare=False, repr=False)
    """The file as parsed, for the line of a field (None: made in code)."""

    def line_of(self, *keys: str) -> int | None:
        return self.toml.line_of(*keys) if self.toml is not None else None

    def settings(self, engine: str) -> dict[str, Any]:
        """The engine's table without its language tables (``[kokoro."en-US"]``)."""
        return {key: value for key, value in self.engines.get(engine, {}).items()
                if not is_language_table(key, value)}

    def languages(self, engine: str) -> tuple[str, ...]:
        """The languages with their own table for ``engine``, as written."""
        return tuple(key for key, value in self.engines.get(engine, {}).items()
                     if is_language_table(key, value))

    def language_table(self, engine: str, language: str) -> str | None:
        """Which of the engine's language tables serves an episode in ``language``: the
        same tag (any case), else one for the same language (``en`` or ``en-GB`` for
        ``en-US``); None when the default table does."""
        tags = self.languages(engine)
        for tag in tags:
            if tag.lower() == language.lower():
                return tag
        primary = _primary(language)
        same = [tag for tag in tags if _primary(tag) == primary]
        return min(same, key=len) if same else None

    def for_language(self, language: str) -> VoiceProfile:
        """This host's profile for an episode in ``language``: each engine's default
        table with the language's own table laid over it."""
        engines: dict[str, dict[str, Any]] = {}
        for engine, table in self.engines.items():
            tag = self.language_table(engine, language)
            engines[engine] = {**self.settings(engine), **(table[tag] if tag else {})}
        return replace(self, engines=engines)


def is_language_table(key: str, value: object) -> bool:
    """Is ``key = value`` in an engine table a language's own table (``[espeak."en-US"]``)?"""
    return isinstance(value, dict) and LANGUAGE_TAG.match(key) is not None


def _primary(tag: str) -> str:
    first = tag.lower().replace("_", "-").split("-")[0]
    return _PRIMARY_ALIASES.get(first, first)


def load_profiles(folder: Path) -> dict[str, VoiceProfile]:
    """Every voices/*.toml, keyed by the host name it speaks for."""
    profiles: dict[str, VoiceProfile] = {}
    if not folder.is_dir():
        return profiles
    for path in sorted(folder.glob("*.toml")):
        toml = load_toml(path)
        data = toml.data
        for key, value in data.items():
            if key != "speaker" and not isinstance(value, dict):
                raise InputError(f"field {key!r}: only 'speaker' and one [engine] table per "
                                 "engine belong in a voice profile", path, toml.line_of(key))
        table = Fields(data, path, known=set(data), typed=True, toml=toml)
        speaker = table.required_text("speaker").strip()
        if speaker in profiles:
            raise InputError(f"host {speaker!r} already has a profile in "
                             f"{profiles[speaker].path.name}", path, toml.line_of("speaker"))
        # engine tables are checked against the engine registry by the speech stage
        engines = {name: table.table(name) for name in data if name != "speaker"}
        profiles[speaker] = VoiceProfile(path.stem, speaker, path, engines, toml)
    return profiles
