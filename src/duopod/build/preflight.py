"""Preflight: what every build checks before any work, and all that ``duopod check`` needs.

A script is parsed against the show (its hosts need voice profiles), every engine table of
those profiles is validated as a build would, and the lexicon is read, so a mistake is one
line naming the file before any speech is rendered. ``screen`` does it once per script for
every executor: the parsed scripts are what the builds use (a script is parsed once per
build, not once per step), and a script that fails, or repeats another's slug, becomes a
failed outcome without stopping the rest. Kept apart from the steps so that ``duopod
check`` loads no mixing or publishing code (start-up is most of its time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DuopodError, InputError
from ..script.model import Script
from ..script.parse import parse_script, refuse_one_off_speakers
from ..show.workspace import Workspace
from ..speech.choice import hosts_profiles
from ..speech.engines import (
    Notify,
    check_engine_settings,
    check_profile_settings,
    choose_auto,
    engine_spec,
)
from ..speech.lexicon import lexicon_entries
from .options import BuildOptions
from .outcome import BuildOutcome

__all__ = ["BuildOptions", "Screened", "check_scripts", "choose_engine", "load_for_build",
           "load_script", "screen"]


def load_script(workspace: Workspace, path: Path, options: BuildOptions,
                text: str | None = None) -> Script:
    """Parse and validate a script against the workspace (hosts need voice profiles);
    ``text``: its unsaved contents (the studio's editor), else the file is read."""
    script = parse_script(path, encoding=options.encoding, overrides=options.overrides,
                          workspace=workspace.root, known_hosts=tuple(workspace.profiles),
                          pinyin_memo=workspace.cache_dir / "pinyin.json", text=text)
    check_profile_settings(workspace.profiles_for(script.speakers, script.path,
                                                  script.first_lines()))
    lexicon_entries(workspace, script)  # a bad lexicon entry is an input error up front
    return script


def load_for_build(workspace: Workspace, path: Path, options: BuildOptions) -> Script:
    """``load_script``, and what a build refuses that ``check`` only warns about: a
    name-like line that occurs once between turns and is no host (``hosts:`` settles it)."""
    script = load_script(workspace, path, options)
    refuse_one_off_speakers(script)
    return script


def _repeated_slug(script: Script, slugs: dict[str, Path]) -> InputError | None:
    other = slugs.get(script.meta.slug)
    if other is None:
        return None
    return InputError(f"slug {script.meta.slug!r} is also used by {other}", script.path, 1)


def check_scripts(workspace: Workspace, paths: list[Path], options: BuildOptions
                  ) -> list[Script]:
    """Load every script, and refuse two that would publish under the same slug: the first
    error is raised (``duopod check``)."""
    scripts: list[Script] = []
    slugs: dict[str, Path] = {}
    for path in paths:
        script = load_script(workspace, path, options)
        repeated = _repeated_slug(script, slugs)
        if repeated is not None:
            raise repeated
        slugs[script.meta.slug] = script.path
        scripts.append(script)
    return scripts


@dataclass
class Screened:
    """The scripts of one run: those worth building (parsed), and those that failed."""

    paths: list[Path]
    """Every script asked for, once each, in the order given."""
    runnable: dict[Path, Script] = field(default_factory=dict)
    failed: dict[Path, BuildOutcome] = field(default_factory=dict)


def screen(workspace: Workspace, paths: Sequence[Path], options: BuildOptions) -> Screened:
    """Parse each script once; a script named twice is built once."""
    unique = list(dict.fromkeys(paths))
    screened = Screened(unique)
    slugs: dict[str, Path] = {}
    for path in unique:
        try:
            script = load_for_build(workspace, path, options)
            repeated = _repeated_slug(script, slugs)
            if repeated is not None:
                raise repeated
        except DuopodError as exc:
            screened.failed[path] = BuildOutcome(path, False, error=str(exc),
                                                 bad_input=isinstance(exc, InputError))
            continue
        slugs[script.meta.slug] = path
        screened.runnable[path] = script
    return screened


def choose_engine(workspace: Workspace, screened: Screened, engine: str,
                  notice: Notify | None = None) -> str:
    """The one engine of a run: ``auto`` becomes the best engine that can run here and
    that every host of the runnable scripts has a voice for (else the best that can run:
    each script without voices for it then fails on its own). Then each runnable script's
    hosts are checked against it, and a script that cannot be spoken fails as bad input
    before anything renders, without stopping the rest."""
    if engine == "auto":
        try:
            name = choose_auto(notice, hosts_profiles(workspace, screened.runnable.values()))
        except InputError:
            name = choose_auto(notice)
    else:
        name = engine_spec(engine).name
    for path, script in list(screened.runnable.items()):
        try:
            check_engine_settings(name, workspace.profiles_for(script.speakers, script.path,
                                                               script.first_lines()))
        except DuopodError as exc:
            del screened.runnable[path]
            screened.failed[path] = BuildOutcome(path, False, engine=name, error=str(exc),
                                                 bad_input=isinstance(exc, InputError))
    return name
