"""The process's kokoro sessions: one per backend, built once and shared by everyone.

Above the model (``kokoro_model``: weights and voices), the backends (``kokoro_backend``)
and the pipeline (``kokoro_pipeline``), because a session for OpenVINO is a request on the
pipeline's compiled model (``kokoro_openvino``): keeping this here leaves the model module
at the bottom of the engine's imports, importing none of them.
"""

from __future__ import annotations

import threading

from .kokoro_backend import resolve
from .kokoro_model import Model, Speaks, ensure_model
from .kokoro_openvino import speaker
from .kokoro_pipeline import session_count

_models: dict[str, Speaks] = {}
_model_lock = threading.Lock()


def shared_session(backend: str = "onnxruntime") -> Speaks:
    """The process's one model session for ``backend`` (``kokoro_backend``), built on
    first use (joining and verifying the weights if this is the first use on this
    machine) and kept for the life of the process: every engine, ``duopod say`` and a
    long-running studio reuse it, so only the first line a process speaks pays the load
    (about a second here)."""
    with _model_lock:
        if backend not in _models:
            if backend == "onnxruntime":
                _models[backend] = Model(ensure_model())
            else:  # a request on the pipeline's model: the same samples (kokoro_openvino)
                _models[backend] = speaker(session_count())
        return _models[backend]


_preloading: threading.Thread | None = None


def preload(backend: str | None = None) -> None:
    """Start building the shared session on a background thread (once per process), with
    the resampler's scipy import after it: a caller that will speak soon (``duopod say``,
    the studio on start) gets on with its own work meanwhile, and its first
    ``shared_session()`` waits only for what is left of the load. ``backend``: the
    machine's own choice (``kokoro_backend.resolve``) when not given."""
    global _preloading
    with _model_lock:
        if _models or _preloading is not None:
            return
        _preloading = threading.Thread(target=_load_quietly, args=(backend,), daemon=True,
                                       name="kokoro-preload")
    _preloading.start()


def _load_quietly(backend: str | None) -> None:
    try:
        if backend is None:
            backend = resolve()
        shared_session(backend)
        import scipy.signal  # noqa: F401  (what resampling 24 kHz to 44.1 kHz loads)
    except Exception:  # noqa: S110 - the caller's own shared_session() raises it properly
        pass


def is_loaded() -> bool:
    """Whether this process has already built a shared session (no load if not)."""
    return bool(_models)
