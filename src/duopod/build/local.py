"""The in-process executor: each script produced and landed here, one after another. The
default for one script, and for several on a machine where one build already keeps the
cores busy (see ``pool.default_jobs``)."""

from __future__ import annotations

from pathlib import Path

from ..script.model import Script
from ..show.workspace import Workspace
from .options import BuildOptions
from .outcome import BuildOutcome, OnEvent
from .run import land_one, produce_one

__all__ = ["InProcess"]


class InProcess:
    name = "in-process"
    jobs = 1

    def run(self, workspace: Workspace, scripts: dict[Path, Script], options: BuildOptions,
            emit: OnEvent) -> dict[Path, BuildOutcome]:
        outcomes: dict[Path, BuildOutcome] = {}
        for path, script in scripts.items():
            produced = produce_one(workspace, script, options, emit)
            outcomes[path] = land_one(workspace, produced, options, emit, script)
        return outcomes
