"""Kokoro's inference pipeline: the model kept busy on every core while a build renders.

A build renders several turns at once, each on a thread of its own (``LocalEngine``).
Each turn's thread runs the front end (normalising codes and numbers, misaki's G2P) for
its sentences and puts their token ids on one bounded queue; inference threads, each
with an onnxruntime session of its own, take them off as fast as the model goes; the
turn's thread then resamples and trims each sentence as its audio comes back. So the
front and back end of some turns run while the model speaks others, instead of between
two inferences, and the model never waits for Python.

Two one-thread sessions rather than one session of two threads: measured on the two
shared cores here, the same sentences took about a fifth fewer CPU-seconds that way
(onnxruntime's intra-op parallelism costs CPU), and with two sentences in flight neither
core idles while the other runs a sequential part of the graph. The samples are the
same whatever the thread count (tested), so the cache keys stand. The queue holds a few
sentences per session: enough that a session finishing one finds the next waiting, few
enough that a failing build stops soon and memory stays flat.

Each backend (``kokoro_backend``) has a pipeline of its own: onnxruntime's threads each
hold a one-thread session; OpenVINO's each hold a request on one model compiled with a
one-thread stream per thread (the weights once, chosen by measurement: see
docs/performance.md).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .kokoro_backend import ONNXRUNTIME
from .kokoro_model import Model, Speaks, ensure_model

if TYPE_CHECKING:
    import numpy as np

SESSIONS = 2
"""Inference sessions of one thread each (``DUOPOD_KOKORO_SESSIONS`` overrides it)."""
QUEUED_PER_SESSION = 3


@dataclass(frozen=True)
class Job:
    tokens: Sequence[int]
    style: np.ndarray
    speed: float
    result: Future[np.ndarray]


class Pipeline:
    """Sessions on daemon threads fed from one bounded queue; started on first use and
    kept for the life of the process (as the shared session is)."""

    def __init__(self, sessions: int = SESSIONS, backend: str = ONNXRUNTIME) -> None:
        self.sessions = max(1, sessions)
        self.backend = backend
        self.jobs: queue.Queue[Job] = queue.Queue(maxsize=QUEUED_PER_SESSION * self.sessions)
        self._started = False
        self._start_lock = threading.Lock()

    def submit(self, tokens: Sequence[int], style: np.ndarray, speed: float
               ) -> Future[np.ndarray]:
        """Queue one inference (blocking while the queue is full); its samples at
        MODEL_RATE arrive in the returned future."""
        self._start()
        result: Future[np.ndarray] = Future()
        self.jobs.put(Job(tokens, style, speed, result))
        return result

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            ensure_model()  # joined once here, not raced by the workers
            for index in range(self.sessions):
                threading.Thread(target=self._work, daemon=True,
                                 name=f"kokoro-inference-{index}").start()
            # the back end's resampler (scipy.signal, a second of imports) loads while the
            # sessions load and speak the first sentences, not after them
            threading.Thread(target=_import_resampler, daemon=True).start()
            self._started = True

    def _speaker(self) -> Speaks:
        if self.backend == ONNXRUNTIME:
            return Model(ensure_model(), threads=1)
        from .kokoro_openvino import speaker

        return speaker(self.sessions)

    def _work(self) -> None:
        """One session's loop: load it (beside the first turn's front end), then infer
        whatever comes; a session that cannot load fails each job it takes."""
        try:
            model: Speaks | None = self._speaker()
            failure: BaseException | None = None
        except BaseException as exc:  # every job taken must end, or its turn waits forever
            model, failure = None, exc
        while True:
            job = self.jobs.get()
            if not job.result.set_running_or_notify_cancel():
                continue
            try:
                if model is None:
                    raise failure or RuntimeError("no kokoro session")
                job.result.set_result(model.speak(job.tokens, job.style, job.speed))
            except BaseException as exc:
                job.result.set_exception(exc)


def _import_resampler() -> None:
    import scipy.signal  # noqa: F401


def session_count() -> int:
    """The pipeline's inference threads: SESSIONS, or ``DUOPOD_KOKORO_SESSIONS``."""
    return max(1, int(os.environ.get("DUOPOD_KOKORO_SESSIONS", SESSIONS)))


_pipelines: dict[str, Pipeline] = {}
_pipeline_lock = threading.Lock()


def shared_pipeline(backend: str = ONNXRUNTIME) -> Pipeline:
    """The process's one pipeline per backend, so that every turn of every build shares
    its sessions."""
    with _pipeline_lock:
        if backend not in _pipelines:
            _pipelines[backend] = Pipeline(session_count(), backend)
        return _pipelines[backend]
