"""Which engine a build of these scripts will use, decided and checked before any work.

``--engine auto`` used to take the best engine that can run here whether or not the hosts
have a voice for it, so a show whose profiles lack a ``[kokoro]`` table failed its first
build once kokoro was installed. Here ``auto`` takes only an engine every host of every
script has a voice for, and a named engine has each host's table validated, so ``duopod
check --engine E`` refuses what ``duopod build --engine E`` would.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..script.model import Script
from ..show.workspace import VoiceProfile, Workspace
from .engines import Notify, check_engine_settings, choose_auto

__all__ = ["engine_for_scripts", "host_voices", "hosts_profiles"]


def hosts_profiles(workspace: Workspace, scripts: Iterable[Script]) -> dict[str, VoiceProfile]:
    """Every host of these scripts, with its voice profile (host -> profile)."""
    profiles: dict[str, VoiceProfile] = {}
    for script in scripts:
        profiles.update(workspace.profiles_for(script.speakers, script.path, script.first_lines()))
    return profiles


def engine_for_scripts(workspace: Workspace, scripts: Iterable[Script], engine: str,
                       notice: Notify | None = None) -> str:
    """The engine a build of ``scripts`` with ``--engine engine`` uses: ``auto`` resolved
    among the engines every host has a voice for (``notice`` hears why one was passed
    over), then every host's table for it validated; InputError naming the profile."""
    profiles = hosts_profiles(workspace, scripts)
    name = choose_auto(notice, profiles) if engine == "auto" else engine
    check_engine_settings(name, profiles)
    return name


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
