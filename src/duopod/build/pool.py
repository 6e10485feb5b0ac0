"""The process-pool executor: several episodes produced at once on one machine
(``duopod build --jobs N``), landed here one at a time.

Each script's slow part (speech, mastering, encoding) runs in a worker process of its own
and ends as a bundle in a private work folder. Workers are forked from a *fork server*
(never from the parent, which runs threads and a terminal display), a fresh interpreter
that has imported ``build.warm`` once: the build's modules and jieba's dictionaries cost
their CPU once, not once per worker. It is started before the scripts are parsed, so its
loading overlaps the parent's preflight. Workers take the parent's environment and working
folder as they are when the pool starts, as spawned ones would (where there is no fork
server, they are spawned). The parent lands bundles in the order given as they arrive, so
the site lock is only ever contended with other duopod commands, and one script's failure
is one failed outcome: the others carry on. The scripts are parsed once, in the parent's
preflight, and travel to the workers pickled.

The speech service's connection bound stays a *total*: ``--concurrency`` becomes one
cross-process semaphore that every worker's engine takes per request. Splitting the budget
instead (concurrency // jobs each) would leave connections idle whenever one episode is
mixing or encoding while another still renders, which is most of the time.

Workers ignore SIGINT: on Ctrl-C the parent stops them (their half-made work folders are
swept by name on the next run), so the terminal shows one line, not a traceback per
worker.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue as queue_module
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, Protocol

from ..script.model import Script
from ..show.workspace import VoiceProfile, Workspace, load_workspace
from ..speech.engines import Engine, EngineSettings, Notify
from ..speech.model import Speech
from .options import BuildOptions
from .outcome import BuildOutcome, OnEvent
from .run import Produced, land_one, produce_one
from .steps import sweep_work

__all__ = ["BUILD_CORES", "GatedEngine", "ProcessPool", "default_jobs", "engine_jobs",
           "start_fork_server"]

BUILD_CORES = 1.6
"""CPU cores one offline build keeps busy, measured (``make bench``, the jobs rows: four
cold espeak builds with ``--jobs 1``, 2026-12-03: 27-33 CPU-s in 16.6-21.1 s wall on two
cores, 1.58-1.63): speech on one core while turns are resampled and profiled on the other,
then the encoder, its meter and the mastering threads. A second build at once can then
gain at most 2 / 1.6 = 1.25x; since the workers fork from a server that loaded the build
once, ``--jobs 2`` uses the same CPU for the same four (28-33 CPU-s; spawned workers that
each paid their own imports and dictionaries used 37 where ``--jobs 1`` used 33)."""


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_jobs(cores: int | None = None) -> int:
    """Episodes at once by default: as many as the cores hold whole builds of
    ``BUILD_CORES`` each (one on two cores: a second would only take turns with the
    first), at least one."""
    return max(1, int((cores or usable_cores()) / BUILD_CORES + 0.5))


def engine_jobs(engine: str, jobs: int, cores: int | None = None) -> int:
    """At most the builds at once that can each have the cores they keep busy: a kokoro
    build's pipeline keeps one core per inference session busy all through its speech
    (measured: 0.92-0.97 CPU-s per second of a render's wall time per session), so on two
    cores a second kokoro build only takes turns with the first, and holds a second copy
    of the model in memory (1.3 GB for OpenVINO's). Other engines: ``jobs`` as asked."""
    if engine != "kokoro":
        return jobs
    from ..speech.engines.kokoro_pipeline import session_count

    return max(1, min(jobs, (cores or usable_cores()) // session_count()))


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

    def settings_for(self, profile: VoiceProfile) -> EngineSettings:
        return self.inner.settings_for(profile)

    async def check_voices(self, voices: dict[str, tuple[VoiceProfile, EngineSettings]]
                           ) -> None:
        await self.inner.check_voices(voices)

    async def render(self, sentences: Sequence[str], settings: EngineSettings,
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


def _init_worker(events: Any, gate: Any, environment: dict[str, str], folder: str) -> None:
    """Runs once in each worker process: the queue back to the parent and the shared
    connection bound arrive here, since they cannot travel with each task, and the
    parent's environment and folder replace the fork server's (started earlier)."""
    global _events, _gate
    _events, _gate = events, gate
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(environment)
    os.chdir(folder)


def _gated(gate: _Gate | None) -> Callable[[Engine], Engine] | None:
    return None if gate is None else (lambda engine: GatedEngine(engine, gate))


def _produce(root: Path, script: Script, options: BuildOptions) -> Produced:
    emit: OnEvent = _events.put if _events is not None else (lambda _e: None)
    return produce_one(load_workspace(root), script, options, emit, _gated(_gate))


# --- the parent side -------------------------------------------------------------------


class ProcessPool:
    name = "process pool"

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)

    def run(self, workspace: Workspace, scripts: dict[Path, Script], options: BuildOptions,
            emit: OnEvent) -> dict[Path, BuildOutcome]:
        context = _context()
        events = context.Queue()
        gate = context.BoundedSemaphore(options.concurrency)
        paths = list(scripts)
        outcomes: dict[Path, BuildOutcome] = {}
        pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(paths)), mp_context=context,
                                   initializer=_init_worker,
                                   initargs=(events, gate, dict(os.environ), os.getcwd()))
        try:
            futures = [pool.submit(_produce, workspace.root, scripts[p], options) for p in paths]
            while len(outcomes) < len(paths):
                _drain(events, emit, wait=0.1)
                # land in the order given, as one-at-a-time building would: episode numbers
                # and the feed's order come out the same whatever finishes first
                for path, future in zip(paths, futures, strict=True):
                    if path in outcomes:
                        continue
                    if not future.done():
                        break
                    _drain(events, emit, wait=0)  # the worker's last events first
                    outcomes[path] = land_one(workspace, _result(future, path), options, emit,
                                              scripts[path])
        except BaseException:  # Ctrl-C: stop the workers now rather than wait for them
            _stop(pool)
            sweep_work(workspace)
            raise
        pool.shutdown(wait=True)
        _drain(events, emit, wait=0)
        return outcomes


_PRELOAD = ["duopod.build.warm"]


def _context() -> BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def start_fork_server() -> None:
    """Start the workers' fork server now (it loads ``build.warm`` while the caller does
    something else); the pool uses it when it starts. Harmless where there is none."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        _context()
        forkserver.ensure_running()


def _stop(pool: ProcessPoolExecutor) -> None:
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


def _drain(events: Any, emit: OnEvent, wait: float) -> None:
    """Pass on every event waiting in the queue (blocking up to ``wait`` for the first)."""
    try:
        emit(events.get(timeout=wait) if wait else events.get_nowait())
        while True:
            emit(events.get_nowait())
    except queue_module.Empty:
        return


def _result(future: Future[Produced], path: Path) -> Produced:
    """A worker that died outright (killed, out of memory) fails its script, not the run."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        now = time.time()
        failed = BuildOutcome(path, False, error=f"its worker process died ({exc})",
                              started=now, finished=now)
        return Produced(path, None, None, failed, now, now)


