"""Several episodes built at once on one machine: ``duopod build --jobs N``.

Each script's slow part (speech, mastering, encoding) runs in a worker process of its own
(a ``ProcessPoolExecutor`` started with *spawn*: no state forked from a parent that runs
threads and a terminal display) and ends as a ``Bundle`` in a private work folder. The
parent publishes bundles one at a time as they arrive, so the site lock is only ever
contended with other duopod commands, and one script's failure is one failed outcome: the
others carry on.

The speech service's connection bound stays a *total*: ``--concurrency`` becomes one
cross-process semaphore that every worker's engine takes per request. Splitting the budget
instead (concurrency // jobs each) would leave connections idle whenever one episode is
mixing or encoding while another still renders, which is most of the time.

Workers report progress as small ``BuildEvent`` records over a multiprocessing queue; the
caller's ``on_event`` sees them in the parent, in order per script.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue as queue_module
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from .bundle import Bundle, Stage, discard, make_bundle, publish_bundle
from ..errors import EXIT_BAD_INPUT, EXIT_FAILURE, DuopodError, InputError
from .pipeline import BuildOptions, load_script, resolve_engine, work_dir
from ..speech.engines import Engine, Notify
from ..speech.model import Speech
from ..speech.render import TurnEvent
from ..show.workspace import VoiceProfile, Workspace, load_workspace

__all__ = ["BuildEvent", "BuildOutcome", "build_many", "default_jobs", "exit_code"]

EventKind = Literal["waiting", "rendering", "turn", "mixing", "encoding", "publishing",
                    "published", "failed"]


@dataclass(frozen=True)
class BuildEvent:
    """One step of one script's build, as the progress display needs it."""

    script: Path
    kind: EventKind
    done: int = 0
    """Turns finished so far (rendered or cached)."""
    cached: int = 0
    total: int = 0
    detail: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class BuildOutcome:
    """How one script's build ended: published, or failed and why."""

    script: Path
    ok: bool
    slug: str | None = None
    title: str | None = None
    engine: str | None = None
    duration: float = 0.0
    rendered: int = 0
    cached: int = 0
    error: str | None = None
    bad_input: bool = False
    """The failure was the producer's input (script, profile): exit code 2 if all are."""
    started: float = 0.0
    finished: float = 0.0
    """When this script's render-mix-encode ran (wall clock), for reports and tests."""


OnEvent = Callable[[BuildEvent], None]


def default_jobs() -> int:
    """Episodes at once by default: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def exit_code(outcomes: Sequence[BuildOutcome]) -> int:
    """0 when all landed; 2 when every failure was bad input; else 1."""
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return 0
    return EXIT_BAD_INPUT if all(o.bad_input for o in failed) else EXIT_FAILURE


class _Gate(Protocol):
    def acquire(self, block: bool = ..., timeout: float | None = ...) -> bool: ...
    def release(self) -> None: ...


class GatedEngine:
    """An engine whose requests take a slot of a semaphore shared by several processes, so
    ``--concurrency`` bounds the speech service's connections across all of them."""

    def __init__(self, inner: Engine, gate: _Gate, poll: float = 0.02) -> None:
        self.inner = inner
        self.name = inner.name
        self._gate = gate
        self._poll = poll

    def __getattr__(self, name: str) -> Any:
        """Whatever else the engine offers (optional capabilities such as
        ``voice_language``, looked up with getattr) is the inner engine's."""
        return getattr(self.inner, name)

    @property
    def version(self) -> str:
        return self.inner.version

    def settings_for(self, profile: VoiceProfile) -> dict[str, Any]:
        return self.inner.settings_for(profile)

    async def check_voices(self, voices: dict[str, tuple[VoiceProfile, dict[str, Any]]]
                           ) -> None:
        await self.inner.check_voices(voices)

    async def render(self, sentences: Sequence[str], settings: dict[str, Any],
                     notify: Notify | None = None) -> Speech:
        # polling rather than a blocking acquire in a thread: a cancelled render must never
        # leave a slot taken by a thread that acquires it after the task is gone
        while not self._gate.acquire(False):
            await asyncio.sleep(self._poll)
        try:
            return await self.inner.render(sentences, settings, notify)
        finally:
            self._gate.release()


# --- the worker side -------------------------------------------------------------------

_events: Any = None
_gate: Any = None


def _init_worker(events: Any, gate: Any) -> None:
    """Runs once in each worker process: the queue back to the parent and the shared
    connection bound arrive here, since they cannot travel with each task."""
    global _events, _gate
    _events, _gate = events, gate


@dataclass(frozen=True)
class _Built:
    """What a worker hands back: a bundle, or why there is none."""

    script: Path
    bundle: Bundle | None
    folder: Path | None
    error: str | None
    bad_input: bool
    started: float
    finished: float


def _build_bundle(root: Path, path: Path, options: BuildOptions) -> _Built:
    """One script to a bundle in a work folder; every failure is caught and described, so
    the parent hears about it as an outcome and not as a broken pool."""
    emit: OnEvent = _events.put if _events is not None else (lambda _e: None)
    return build_bundle(root, path, options, emit, _gate)


def _gated(gate: _Gate | None) -> Callable[[Engine], Engine] | None:
    return None if gate is None else (lambda engine: GatedEngine(engine, gate))


def build_bundle(root: Path, path: Path, options: BuildOptions, emit: OnEvent,
                 gate: _Gate | None) -> _Built:
    """Render, mix and encode ``path`` into a new work folder, reporting as it goes."""
    started = time.time()
    folder: Path | None = None
    counts = {"done": 0, "cached": 0, "total": 0}

    def on_turn(event: TurnEvent) -> None:
        if event.status in ("done", "cached"):
            counts["done"] += 1
            counts["cached"] += event.status == "cached"
            emit(BuildEvent(path, "turn", counts["done"], counts["cached"], counts["total"],
                            f"turn {event.turn.index + 1} {event.status}"))
        elif event.status in ("retrying", "failed"):
            emit(BuildEvent(path, "turn", counts["done"], counts["cached"], counts["total"],
                            f"turn {event.turn.index + 1} {event.status}: {event.detail}"))

    def on_stage(stage: Stage) -> None:
        if stage != "rendering":  # announced already, with the turn count
            emit(BuildEvent(path, stage, counts["done"], counts["cached"], counts["total"]))

    try:
        workspace = load_workspace(root)
        counts["total"] = len(load_script(workspace, path, options).turns)
        emit(BuildEvent(path, "rendering", total=counts["total"]))
        folder = work_dir(workspace, path.stem)
        bundle = make_bundle(workspace, path, options, folder, progress=on_turn,
                             stage=on_stage, wrap_engine=_gated(gate))
    except Exception as exc:  # one script's failure, whatever it is, is its own outcome
        if folder is not None:
            discard(folder)
        message = str(exc) if isinstance(exc, DuopodError) else f"{type(exc).__name__}: {exc}"
        emit(BuildEvent(path, "failed", detail=message))
        return _Built(path, None, None, message, isinstance(exc, InputError), started,
                      time.time())
    return _Built(path, bundle, folder, None, False, started, time.time())


# --- the parent side -------------------------------------------------------------------


def build_many(workspace: Workspace, paths: Sequence[Path], options: BuildOptions,
               jobs: int | None = None, on_event: OnEvent | None = None,
               notice: Notify | None = None) -> list[BuildOutcome]:
    """Build ``paths`` with up to ``jobs`` at once and publish each as it is ready; one
    outcome per script, in the order given. Scripts that do not parse, or that repeat
    another's slug, fail up front as bad input without stopping the rest."""
    tell = on_event or (lambda _event: None)
    jobs = max(1, jobs or default_jobs())
    options = replace(options, engine=resolve_engine(options.engine, notice))
    outcomes: dict[Path, BuildOutcome] = {}
    runnable = _screen(workspace, paths, options, outcomes, tell)
    if jobs == 1 or len(runnable) <= 1:
        for path in runnable:
            built = build_bundle(workspace.root, path, options, tell, None)
            outcomes[path] = _land(workspace, built, options, tell)
    else:
        outcomes.update(_in_processes(workspace, runnable, options, jobs, tell))
    return [outcomes[path] for path in paths]


def _screen(workspace: Workspace, paths: Sequence[Path], options: BuildOptions,
            outcomes: dict[Path, BuildOutcome], tell: OnEvent) -> list[Path]:
    """The scripts worth starting: each parses, and no two share a slug."""
    slugs: dict[str, Path] = {}
    runnable: list[Path] = []
    for path in paths:
        try:
            script = load_script(workspace, path, options)
            if script.meta.slug in slugs:
                raise InputError(f"slug {script.meta.slug!r} is also used by "
                                 f"{slugs[script.meta.slug]}", path, 1)
        except DuopodError as exc:
            tell(BuildEvent(path, "failed", detail=str(exc)))
            outcomes[path] = BuildOutcome(path, False, error=str(exc),
                                          bad_input=isinstance(exc, InputError))
            continue
        slugs[script.meta.slug] = path
        tell(BuildEvent(path, "waiting", total=len(script.turns)))
        runnable.append(path)
    return runnable


def _in_processes(workspace: Workspace, paths: list[Path], options: BuildOptions, jobs: int,
                  tell: OnEvent) -> dict[Path, BuildOutcome]:
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    gate = context.BoundedSemaphore(options.concurrency)
    outcomes: dict[Path, BuildOutcome] = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context,
                             initializer=_init_worker, initargs=(events, gate)) as pool:
        try:
            futures = [pool.submit(_build_bundle, workspace.root, path, options)
                       for path in paths]
            while len(outcomes) < len(paths):
                _drain(events, tell, wait=0.1)
                # publish in the order given, as a one-at-a-time build would: episode
                # numbers follow publishing order, so they come out the same
                for path, future in zip(paths, futures, strict=True):
                    if path in outcomes:
                        continue
                    if not future.done():
                        break
                    _drain(events, tell, wait=0)  # the worker's last events first
                    outcomes[path] = _land(workspace, _result(future, path), options, tell)
        except BaseException:  # Ctrl-C: the workers have had SIGINT too; do not wait
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    _drain(events, tell, wait=0)
    return outcomes


def _drain(events: Any, tell: OnEvent, wait: float) -> None:
    """Pass on every event waiting in the queue (blocking up to ``wait`` for the first)."""
    try:
        tell(events.get(timeout=wait) if wait else events.get_nowait())
        while True:
            tell(events.get_nowait())
    except queue_module.Empty:
        return


def _result(future: Future[_Built], path: Path) -> _Built:
    """A worker that died outright (killed, out of memory) fails its script, not the run."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        now = time.time()
        return _Built(path, None, None, f"its worker process died ({exc})", False, now, now)


def _land(workspace: Workspace, built: _Built, options: BuildOptions, tell: OnEvent
          ) -> BuildOutcome:
    """Publish a finished bundle here, in the parent, one at a time."""
    path = built.script
    if built.bundle is None:
        return BuildOutcome(path, False, error=built.error, bad_input=built.bad_input,
                            started=built.started, finished=built.finished)
    bundle = built.bundle
    tell(BuildEvent(path, "publishing", bundle.rendered + bundle.cached, bundle.cached,
                    bundle.rendered + bundle.cached))
    try:
        record = publish_bundle(workspace, bundle, options)
    except DuopodError as exc:
        tell(BuildEvent(path, "failed", detail=str(exc)))
        return BuildOutcome(path, False, engine=bundle.engine, error=str(exc),
                            bad_input=isinstance(exc, InputError), started=built.started,
                            finished=built.finished)
    finally:
        if built.folder is not None:
            discard(built.folder)
    tell(BuildEvent(path, "published", bundle.rendered + bundle.cached, bundle.cached,
                    bundle.rendered + bundle.cached, record.slug))
    return BuildOutcome(path, True, record.slug, record.title, bundle.engine, record.duration,
                        bundle.rendered, bundle.cached, started=built.started,
                        finished=built.finished)
