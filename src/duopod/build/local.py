"""The in-process executor: each script produced and landed here, one after another. The
default for one script, and for several on a machine where one build already keeps the
cores busy (see ``pool.default_jobs``). A caller in this process may have it keep the
landed objects and the exceptions themselves (``Keeper``): ``build_episode`` does."""

from __future__ import annotations

from pathlib import Path

from ..script.model import Script
from ..show.workspace import Workspace
from .options import BuildOptions
from .outcome import BuildOutcome, OnEvent
from .run import Keeper, land_one, produce_one

__all__ = ["InProcess"]


class InProcess:
    name = "in-process"
    jobs = 1

    def __init__(self, keep: Keeper | None = None) -> None:
        self.keep = keep

    def run(self, workspace: Workspace, scripts: dict[Path, Script], options: BuildOptions,
            emit: OnEvent) -> dict[Path, BuildOutcome]:
        outcomes: dict[Path, BuildOutcome] = {}
        for path, script in scripts.items():
            produced = produce_one(workspace, script, options, emit, keep=self.keep)
            outcomes[path] = land_one(workspace, produced, options, emit, script, self.keep)
        return outcomes
