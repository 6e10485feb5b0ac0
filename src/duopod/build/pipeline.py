"""One script in this process, raising on failure: the library call for a caller that
builds a single episode and wants its objects (tests, benchmarks, a program of the
producer's). It is ``build_scripts`` (the call the CLI, the studio and the queue make: the
slug screen, the work-folder sweep, the engine policy, publication order, verify and
deploy) with the in-process executor keeping what landed, and the failure raised as it
was raised instead of reported as an outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import DuopodError
from ..mix import Measurement, MixedEpisode
from ..publish import EpisodeRecord, Problem
from ..script.model import Script
from ..show.workspace import Workspace
from ..speech.model import RenderedTurn
from ..speech.render import ProgressCallback, TurnEvent
from .bundle import Bundle, relative_script
from .options import BuildOptions
from .preflight import load_script
from .scripts import build_scripts
from .steps import Landed, discard, land, mix_with_notes, new_work_folder

__all__ = ["BuildResult", "build_episode", "mix_and_publish", "remix_episode"]

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


class _Kept:
    """What ``build_scripts`` ran here left behind for one script."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.progress = progress
        self.error: BaseException | None = None
        self.result: tuple[Script | None, Bundle, Landed] | None = None

    def turn(self, event: TurnEvent) -> None:
        if self.progress is not None:
            self.progress(event)

    def raised(self, script: Path, error: BaseException) -> None:
        self.error = error

    def landed(self, path: Path, script: Script | None, bundle: Bundle, landed: Landed
               ) -> None:
        self.result = (script, bundle, landed)


def build_episode(
    workspace: Workspace,
    path: Path,
    options: BuildOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    notice: Notice | None = None,
) -> BuildResult:
    """Build one script into a published episode (``build_scripts``, in this process);
    its failure is raised."""
    kept = _Kept(progress)
    run = build_scripts(workspace, [path], options or BuildOptions(), notice=notice,
                        keep=kept)
    (outcome,) = run.outcomes
    if kept.result is None:
        if kept.error is not None:
            raise kept.error
        raise DuopodError(outcome.error or f"{path}: the build did not land")
    if run.exit_code != 0:  # landed, but what came after (verify, deploy) did not hold
        raise DuopodError(run.held_back or f"{path}: exit code {run.exit_code}")
    script, bundle, landed = kept.result
    if script is None:
        script = load_script(workspace, path, options or BuildOptions())
    return BuildResult(script, landed.record, landed.directory, bundle.engine,
                       bundle.rendered, bundle.cached, bundle.measurement, landed.problems)


def remix_episode(workspace: Workspace, path: Path, options: BuildOptions | None = None,
                  *, notice: Notice | None = None) -> BuildResult:
    """Mix and publish again from cached speech only: to tune gaps, music or loudness."""
    options = replace(options or BuildOptions(), cache_only=True, use_cache=True)
    return build_episode(workspace, path, options, notice=notice)


def mix_and_publish(workspace: Workspace, script: Script, rendered: list[RenderedTurn],
                    engine: str, force: bool = False) -> tuple[EpisodeRecord, MixedEpisode]:
    """Mix already rendered turns and publish them (the mixing benchmark's entry point:
    it times the mix, with the speech rendered beforehand)."""
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
