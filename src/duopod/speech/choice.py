"""Which engine speaks: the one policy every face uses (a build of any number of scripts,
``duopod check``, ``duopod say``, the studio), decided and checked before any work.

- ``auto`` takes the best engine that can run here and that every host of every script
  has a voice for; when no engine has them all, the best that can run, and each script
  whose hosts lack a voice for it is refused on its own (a back catalogue is not held up
  by one script). It says which engine it took and why better ones were passed over.
- A named engine must exist, and every host's table for it is validated as a build would,
  so ``duopod check --engine E`` refuses what ``duopod build --engine E`` would.

(``--engine auto`` once took the best engine whether or not the hosts had a voice for it,
so a show whose profiles lacked a ``[kokoro]`` table failed its first build once kokoro
was installed.)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..errors import DuopodError, InputError
from ..script.model import Script
from ..show.workspace import VoiceProfile, Workspace
from .engines import Notify, check_engine_settings, choose_auto, engine_spec

__all__ = ["EngineChoice", "choose_engine", "engine_for_scripts", "engine_for_voice",
           "host_voices",
           "hosts_profiles", "resolve_engine", "script_profiles"]

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class EngineChoice(Generic[Key]):
    """The engine of a run, and the items (scripts) it cannot speak, each with why."""

    name: str
    refused: dict[Key, DuopodError] = field(default_factory=dict)


def choose_engine(hosts: Mapping[Key, Mapping[str, VoiceProfile]], engine: str,
                  notice: Notify | None = None) -> EngineChoice[Key]:
    """The engine for items (scripts, or one line to say) with these hosts' profiles
    (item -> host -> profile), by the policy in the module's docstring."""
    if engine == "auto":
        everyone: dict[str, VoiceProfile] = {}
        for profiles in hosts.values():
            everyone.update(profiles)
        try:
            name = choose_auto(notice, everyone)
        except InputError:
            name = choose_auto(notice)  # each item without voices for it is refused below
    else:
        name = engine_spec(engine).name
    refused: dict[Key, DuopodError] = {}
    for item, profiles in hosts.items():
        try:
            check_engine_settings(name, profiles)
        except DuopodError as exc:
            refused[item] = exc
    return EngineChoice(name, refused)


def resolve_engine(name: str, notice: Notify | None = None) -> str:
    """An engine by name, no hosts given (``auto``: the best that can run here, and it
    says so when it falls back); ``choose_engine`` when there are hosts to speak."""
    return choose_auto(notice) if name == "auto" else engine_spec(name).name


def script_profiles(workspace: Workspace, script: Script) -> dict[str, VoiceProfile]:
    """A script's speakers (hosts and guests) with their profiles; one without is an error
    at its line."""
    return workspace.profiles_for(script.speakers, script.path, script.first_lines())


def hosts_profiles(workspace: Workspace, scripts: Iterable[Script]) -> dict[str, VoiceProfile]:
    """Every host of these scripts, with its voice profile (host -> profile)."""
    profiles: dict[str, VoiceProfile] = {}
    for script in scripts:
        profiles.update(script_profiles(workspace, script))
    return profiles


def engine_for_scripts(workspace: Workspace, scripts: Iterable[Script], engine: str,
                       notice: Notify | None = None) -> str:
    """``choose_engine`` for these scripts, raising the first refusal (``duopod check``,
    a face that builds one script and wants the error itself)."""
    chosen = choose_engine({script.path: script_profiles(workspace, script)
                            for script in scripts}, engine, notice)
    for refusal in chosen.refused.values():
        raise refusal
    return chosen.name


def engine_for_voice(profile: VoiceProfile, engine: str, notice: Notify | None = None) -> str:
    """``choose_engine`` for one host's line (``duopod say``, the studio's hear): its
    refusal raised."""
    chosen = choose_engine({profile.speaker: {profile.speaker: profile}}, engine, notice)
    for refusal in chosen.refused.values():
        raise refusal
    return chosen.name


def host_voices(profile: VoiceProfile, language: str) -> str:
    """Which voice the host uses in an episode in ``language``, per engine, and from which
    table: ``espeak en-us [espeak."en-US"], kokoro zm_yunxi [kokoro]`` (for ``duopod
    check``)."""
    described = []
    resolved = profile.for_language(language)
    for engine in profile.engines:
        table = profile.language_table(engine, language)
        where = f'[{engine}."{table}"]' if table else f"[{engine}]"
        voice = resolved.settings(engine).get("voice", "?")
        described.append(f"{engine} {voice} {where}")
    return ", ".join(described)
