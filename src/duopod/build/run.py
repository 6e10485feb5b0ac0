"""One script through the two steps, reporting as it goes: the piece every executor calls.

``produce_one`` runs where the speech is made (this process, a pool worker): it never
raises, so one script's failure is its outcome and not a broken pool. ``land_one`` runs
where publishing happens, one bundle at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..script.model import Script
from ..show.workspace import Workspace
from ..speech.render import TurnEvent
from .bundle import Bundle
from .options import BuildOptions
from .outcome import BuildEvent, BuildOutcome, OnEvent
from .steps import (
    EngineWrapper,
    Landed,
    Stage,
    discard,
    failure,
    land,
    new_work_folder,
    outcome,
    produce,
)

__all__ = ["Keeper", "Produced", "land_one", "produce_one"]


class Keeper(Protocol):
    """What a caller in this process keeps of each script's build, beside its outcome:
    the landed episode's objects, or the exception itself (``build_episode`` raises it).
    Executors that run elsewhere (a pool, the queue) keep nothing: outcomes are all that
    travel."""

    def turn(self, event: TurnEvent) -> None: ...

    def raised(self, script: Path, error: BaseException) -> None: ...

    def landed(self, path: Path, script: Script | None, bundle: Bundle, landed: Landed
               ) -> None: ...


@dataclass(frozen=True)
class Produced:
    """What producing handed back: a bundle in a work folder, or the failed outcome."""

    script: Path
    bundle: Bundle | None
    folder: Path | None
    failed: BuildOutcome | None
    started: float
    finished: float


class _Counts:
    def __init__(self, total: int) -> None:
        self.done = 0
        self.cached = 0
        self.total = total


def produce_one(workspace: Workspace, script: Script, options: BuildOptions, emit: OnEvent,
                wrap_engine: EngineWrapper | None = None, keep: Keeper | None = None
                ) -> Produced:
    """Render, mix and encode ``script`` into a new work folder, reporting as it goes."""
    path = script.path
    started = time.time()
    counts = _Counts(len(script.turns))
    folder: Path | None = None

    def on_turn(event: TurnEvent) -> None:
        if keep is not None:
            keep.turn(event)
        if event.status in ("done", "cached"):
            counts.done += 1
            counts.cached += event.status == "cached"
            emit(BuildEvent(path, "turn", counts.done, counts.cached, counts.total,
                            f"turn {event.turn.index + 1} {event.status}"))
        elif event.status in ("retrying", "failed"):
            emit(BuildEvent(path, "turn", counts.done, counts.cached, counts.total,
                            f"turn {event.turn.index + 1} {event.status}: {event.detail}"))

    def on_stage(stage: Stage) -> None:
        if stage != "rendering":  # announced already, with the turn count
            emit(BuildEvent(path, stage, counts.done, counts.cached, counts.total))

    try:
        emit(BuildEvent(path, "rendering", total=counts.total))
        folder = new_work_folder(workspace, path.stem)
        bundle = produce(workspace, script, options, folder, progress=on_turn,
                         stage=on_stage, wrap_engine=wrap_engine)
    except Exception as exc:  # one script's failure, whatever it is, is its own outcome
        if folder is not None:
            discard(folder)
        if keep is not None:
            keep.raised(path, exc)
        failed = failure(path, exc, started)
        emit(BuildEvent(path, "failed", detail=failed.error or ""))
        return Produced(path, None, None, failed, started, failed.finished)
    return Produced(path, bundle, folder, None, started, time.time())


def land_one(workspace: Workspace, produced: Produced, options: BuildOptions, emit: OnEvent,
             script: Script | None = None, keep: Keeper | None = None) -> BuildOutcome:
    """Publish a finished bundle here, one at a time, and remove its work folder."""
    path = produced.script
    if produced.bundle is None:
        assert produced.failed is not None
        return produced.failed
    bundle = produced.bundle
    done = bundle.rendered + bundle.cached
    emit(BuildEvent(path, "publishing", done, bundle.cached, done))
    try:
        landed = land(workspace, bundle, options, script)
    except Exception as exc:  # the site is as it was (publish's journal): an outcome
        if keep is not None:
            keep.raised(path, exc)
        failed = failure(path, exc, produced.started, bundle.engine)
        emit(BuildEvent(path, "failed", detail=failed.error or ""))
        return failed
    finally:
        if produced.folder is not None:
            discard(produced.folder)
    if keep is not None:
        keep.landed(path, script, bundle, landed)
    emit(BuildEvent(path, "published", done, bundle.cached, done, landed.record.slug))
    return outcome(path, bundle, landed, produced.started, produced.finished)
