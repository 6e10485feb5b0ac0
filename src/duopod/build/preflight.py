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
from ..speech.choice import choose_engine as choose_engine_for
from ..speech.choice import script_profiles
from ..speech.engines import Notify, check_profile_settings
from ..speech.lexicon import lexicon_entries
from ..text import PinyinMemo
from .options import BuildOptions
from .outcome import BuildOutcome

__all__ = ["Screened", "check_scripts", "choose_engine", "load_for_build", "load_script",
           "screen"]


def load_script(workspace: Workspace, path: Path, options: BuildOptions,
                text: str | None = None, *, remember: bool = True) -> Script:
    """Parse and validate a script against the workspace (hosts need voice profiles);
    ``text``: its unsaved contents (the studio's editor), else the file is read.
    ``remember`` False: a look that changes nothing, not even the show's cache (the
    studio's checks as the producer types, a turn heard)."""
    memo = PinyinMemo(workspace.cache_dir / "pinyin.json", remember)
    script = parse_script(path, encoding=options.encoding, overrides=options.overrides,
                          workspace=workspace.root, known_hosts=tuple(workspace.profiles),
                          pinyin_memo=memo, text=text)
    check_profile_settings(script_profiles(workspace, script))
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
    raised: dict[Path, DuopodError] = field(default_factory=dict)
    """Why each failed, as raised (for a caller in this process that raises it again)."""


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
            screened.raised[path] = exc
            continue
        slugs[script.meta.slug] = path
        screened.runnable[path] = script
    return screened


def choose_engine(workspace: Workspace, screened: Screened, engine: str,
                  notice: Notify | None = None) -> str:
    """The one engine of a run (``speech.choice.choose_engine``: the policy every face
    shares); each runnable script it cannot speak fails as bad input before anything
    renders, without stopping the rest."""
    chosen = choose_engine_for({path: script_profiles(workspace, script)
                                for path, script in screened.runnable.items()}, engine, notice)
    for path, refusal in chosen.refused.items():
        del screened.runnable[path]
        screened.raised[path] = refusal
        screened.failed[path] = BuildOutcome(path, False, engine=chosen.name,
                                             error=str(refusal),
                                             bad_input=isinstance(refusal, InputError))
    return chosen.name
