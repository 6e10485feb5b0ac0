"""``build_scripts``: every build of the CLI, the studio and the queue's clients goes
through here. It screens the scripts once (parse, slugs), picks where they run, and
returns one outcome per script, in the order given, with one exit code.

The executor is the library's choice, not the caller's: the Redis queue when a queue is
named; a process pool when more than one script is runnable and more than one job is
allowed (``--jobs``; by default as many as the cores hold whole builds); this process
otherwise. All three run the same two steps (``steps.produce``, ``steps.land``), so they
give the same outcomes, messages and published files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..script.model import Script
from ..show.workspace import Workspace
from ..site.render import publication_time
from .after import deploy_site, verify_landed
from .options import BuildOptions
from .outcome import BuildEvent, BuildOutcome, OnEvent, exit_code
from .preflight import choose_engine, screen
from .run import Keeper
from .steps import Notice, sweep_work

if TYPE_CHECKING:
    from ..deploy import DeployReport
    from ..verify import VerifyReport

__all__ = ["BuildRun", "Executor", "build_scripts", "choose_executor"]


class Executor(Protocol):
    """Where the steps run. ``run`` gets the screened scripts (parsed) and returns an
    outcome for each; it reports through ``emit`` as it goes."""

    name: str
    jobs: int

    def run(self, workspace: Workspace, scripts: dict[Path, Script], options: BuildOptions,
            emit: OnEvent) -> dict[Path, BuildOutcome]: ...


@dataclass(frozen=True)
class BuildRun:
    outcomes: list[BuildOutcome]
    executor: str
    jobs: int
    deployed: DeployReport | None = None
    """What ``--deploy`` sent after landing (None: no deploy here)."""
    verified: tuple[VerifyReport, ...] = ()
    """With ``verify``: each landed episode as a listener heard it."""
    held_back: str | None = None
    """Why the deploy that was asked for did not run (sentences flagged), else None."""

    @property
    def exit_code(self) -> int:
        heard = max((report.exit_code for report in self.verified), default=0)
        return max(exit_code(self.outcomes), heard)


def choose_executor(runnable: int, jobs: int | None = None, queue: str | None = None,
                    keep: Keeper | None = None) -> Executor:
    if queue is not None:
        from .queue import QueueExecutor

        return QueueExecutor(queue)
    from .pool import ProcessPool, default_jobs

    allowed = default_jobs() if jobs is None else jobs
    if allowed > 1 and runnable > 1:
        return ProcessPool(min(allowed, runnable))
    from .local import InProcess

    return InProcess(keep)


def _ready_pool(jobs: int | None) -> None:
    """Several scripts may go to the process pool: its workers' fork server loads while
    the scripts are parsed (a pool that is not used after all has cost a second core's
    idle time)."""
    from .pool import default_jobs, start_fork_server

    if (default_jobs() if jobs is None else jobs) > 1:
        start_fork_server()


def build_scripts(
    workspace: Workspace,
    paths: Sequence[Path],
    options: BuildOptions,
    *,
    jobs: int | None = None,
    queue: str | None = None,
    executor: Executor | None = None,
    on_event: OnEvent | None = None,
    notice: Notice | None = None,
    keep: Keeper | None = None,
) -> BuildRun:
    """Build ``paths`` and publish each as it is ready. Scripts that do not parse, or that
    repeat another's slug, fail up front as bad input without stopping the rest; a script
    named twice is built once. ``keep``: a caller in this process that wants the landed
    objects and the exceptions themselves (it runs the scripts here, unless an
    ``executor`` is given)."""
    emit: OnEvent = on_event or (lambda _event: None)
    if executor is None and queue is None and keep is None and len(paths) > 1:
        _ready_pool(jobs)
    sweep_work(workspace)
    screened = screen(workspace, paths, options)
    if not (options.engine == "auto" and options.cache_only):
        options = replace(options, engine=choose_engine(workspace, screened, options.engine,
                                                        notice))
    for path, failed in screened.failed.items():
        emit(BuildEvent(path, "failed", detail=failed.error or ""))
        if keep is not None and path in screened.raised:
            keep.raised(path, screened.raised[path])
    for path, script in screened.runnable.items():
        emit(BuildEvent(path, "waiting", total=len(script.turns)))
    if keep is not None:  # what is kept lives in this process: the scripts run here
        jobs, queue = 1, None
    chosen = executor or choose_executor(len(screened.runnable), jobs, queue, keep)
    outcomes = dict(screened.failed)
    if screened.runnable:
        outcomes.update(chosen.run(workspace, in_publication_order(workspace, screened.runnable),
                                   options, emit))
    ordered = [outcomes[path] for path in screened.paths]
    verified = verify_landed(workspace, ordered, notice) if options.verify else ()
    flagged = sum(len(report.flagged) for report in verified)
    deployed, held_back = None, None
    if options.deploy is not None and chosen.name != "queue" and any(o.ok for o in ordered):
        if flagged:  # what listeners would get is what --verify just flagged
            held_back = f"{flagged} sentence(s) flagged by --verify"
        else:
            deployed = deploy_site(workspace, options.deploy)
    return BuildRun(ordered, chosen.name, chosen.jobs, deployed, verified, held_back)


def in_publication_order(workspace: Workspace, scripts: dict[Path, Script]
                         ) -> dict[Path, Script]:
    """The scripts in the order they are published (oldest first): executors land them in
    the order given, so a back catalogue built at once is numbered by date whatever the
    order its files were named in (see ``publish.numbering``)."""
    return dict(sorted(scripts.items(),
                       key=lambda item: publication_time(item[1], workspace.show)))
