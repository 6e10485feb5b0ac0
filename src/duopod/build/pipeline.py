"""One script in this process, raising on failure: the library call for a caller that
builds a single episode and wants its objects (the studio, tests, benchmarks). It runs the
same two steps as every executor (``steps.produce`` then ``steps.land``); ``build_scripts``
in this package is the call that reports outcomes instead of raising."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..mix import Measurement, MixedEpisode
from ..publish import EpisodeRecord, Listing, Problem, rebuild_feed, republish
from ..script.model import Script
from ..show.workspace import Workspace
from ..speech.choice import engine_for_scripts
from ..speech.model import RenderedTurn
from ..speech.render import ProgressCallback
from .bundle import Bundle, relative_script
from .options import BuildOptions
from .preflight import check_scripts, load_for_build, load_script
from .steps import (
    discard,
    land,
    make_engine,
    mix_with_notes,
    new_work_folder,
    produce,
    render,
    resolve_engine,
)

__all__ = [
    "BuildOptions", "BuildResult", "Listing", "build_episode", "check_scripts", "load_script",
    "make_engine", "mix_and_publish", "rebuild_feed", "remix_episode", "render", "republish",
    "resolve_engine",
]

Notice = Callable[[str], None]


@dataclass
class BuildResult:
    script: Script
    record: EpisodeRecord
    directory: Path
    engine: str
    rendered: int
    cached: int
    measurement: Measurement
    problems: list[Problem] = field(default_factory=list)
    """Other episodes the publish could not list anew, folders it left alone."""


def build_episode(
    workspace: Workspace,
    path: Path,
    options: BuildOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    notice: Notice | None = None,
) -> BuildResult:
    """Build one script into a published episode; errors are raised."""
    options = options or BuildOptions()
    script = load_for_build(workspace, path, options)
    if not (options.engine == "auto" and options.cache_only):
        name = engine_for_scripts(workspace, [script], options.engine, notice)
        options = replace(options, engine=name)
    folder = new_work_folder(workspace, path.stem)
    try:
        bundle = produce(workspace, script, options, folder, progress=progress)
        landed = land(workspace, bundle, options, script)
    finally:
        discard(folder)
    return BuildResult(script, landed.record, landed.directory, bundle.engine, bundle.rendered,
                       bundle.cached, bundle.measurement, landed.problems)


def remix_episode(workspace: Workspace, path: Path, options: BuildOptions | None = None,
                  *, notice: Notice | None = None) -> BuildResult:
    """Mix and publish again from cached speech only: to tune gaps, music or loudness."""
    options = replace(options or BuildOptions(), cache_only=True, use_cache=True)
    return build_episode(workspace, path, options, notice=notice)


def mix_and_publish(workspace: Workspace, script: Script, rendered: list[RenderedTurn],
                    engine: str, force: bool = False) -> tuple[EpisodeRecord, MixedEpisode]:
    """Mix already rendered turns and publish them (the mixing benchmark's entry point)."""
    folder = new_work_folder(workspace, script.path.stem)
    try:
        mixed, notes = mix_with_notes(workspace, script, rendered, folder, lambda _s: None)
        cached = sum(1 for r in rendered if r.cached)
        bundle = Bundle(relative_script(workspace, script.path), engine, mixed.audio,
                        mixed.timeline, mixed.measurement, notes, len(rendered) - cached,
                        cached)
        landed = land(workspace, bundle, BuildOptions(force=force), script)
    finally:
        discard(folder)
    return landed.record, mixed
