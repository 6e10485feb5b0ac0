"""Kokoro on OpenVINO in bf16: the float graph (``kokoro_graph``) on the CPU's bf16 units.

One compiled model per arrangement, shared by every request made from it: a build's
pipeline compiles it with one stream of one thread per inference thread (the weights
once, each stream its own buffers), a line said alone with one stream over every core.

- **Start-up**: compiling takes seconds (4-15 here); the compiled model is cached on
  disk (``CACHE_DIR`` under the model cache, ``openvino/``), so a second process loads
  it in about a second.
- **Memory**: OpenVINO keeps compiled kernels and plans per input shape, and every
  sentence length is a new shape; with its runtime cache off
  (``CPU_RUNTIME_CACHE_CAPACITY`` 0) a process grows for its first dozen lengths and then
  stays flat (measured: 1,297 MB from the 20th sentence to the 110th, one stream), at
  the same speed.
- **Threads**: ``ENABLE_CPU_PINNING`` off: on a machine shared with other builds, a
  thread pinned to a busy core waits where the scheduler would have moved it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from .kokoro_graph import ensure_graph
from .kokoro_model import cache_root

if TYPE_CHECKING:
    import numpy as np

PRECISION = "bf16"


def compile_config(streams: int, threads: int | None) -> dict[str, Any]:
    """OpenVINO's CPU settings for ``streams`` streams over ``threads`` threads (None:
    OpenVINO's own count, every core)."""
    config: dict[str, Any] = {
        "INFERENCE_PRECISION_HINT": PRECISION,
        "NUM_STREAMS": streams,
        "CPU_RUNTIME_CACHE_CAPACITY": 0,
        "ENABLE_CPU_PINNING": False,
    }
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = threads
    return config


@cache
def compiled(streams: int, threads: int | None) -> Any:
    """The float graph compiled for this arrangement (from the disk cache when a process
    has compiled it before), once per process."""
    import openvino

    path = ensure_graph()
    core = openvino.Core()
    cache_dir = cache_root() / "openvino"
    cache_dir.mkdir(parents=True, exist_ok=True)
    core.set_property({"CACHE_DIR": str(cache_dir)})
    model = core.compile_model(str(path), "CPU", compile_config(streams, threads))
    precision = str(model.get_property("INFERENCE_PRECISION_HINT"))
    if "bf" not in precision.lower():  # never speak f32 samples under a bf16 key
        from ...errors import EngineError

        raise EngineError(f"OpenVINO compiled Kokoro in {precision}, not bf16, on this CPU")
    return model


class Speaker:
    """One inference request on a compiled model: what one pipeline thread, or the
    shared session, speaks with. Same interface as ``kokoro_model.Model``."""

    def __init__(self, model: Any) -> None:
        self.request = model.create_infer_request()
        self.lock = threading.Lock()

    def speak(self, tokens: Sequence[int], style: np.ndarray, speed: float) -> np.ndarray:
        """float32 samples at MODEL_RATE for at most 510 token ids."""
        import numpy as np

        feed = {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style.reshape(1, -1).astype(np.float32),
            "speed": np.array([speed], dtype=np.float32),
        }
        with self.lock:
            result = self.request.infer(feed)
            audio = np.array(result[0], dtype=np.float32).reshape(-1)
        return audio


def pipeline_speaker(streams: int) -> Speaker:
    """A request on the pipeline's model: ``streams`` one-thread streams, one per
    inference thread."""
    return Speaker(compiled(streams, streams))


def alone_speaker() -> Speaker:
    """A request on the model a line said alone uses: one stream, every core."""
    return Speaker(compiled(1, None))
