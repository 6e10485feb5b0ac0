"""Kokoro on OpenVINO in bf16: the float graph (``kokoro_graph``) on the CPU's bf16 units.

One compiled model per process, with one stream of one thread per inference thread of
the build's pipeline (the weights once, each stream its own buffers); a line said alone
runs on a request of the same model. Not a stream over every core for it: OpenVINO's
samples depend on the thread count (measured: up to 0.03 apart), and a line heard in the
studio is cached for the build, so it must be what the build would have said.

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
- **The first array, on one thread**: OpenVINO's Python binding sets up its numpy bridge
  on first use behind a once-flag it waits on while holding the GIL. Two pipeline threads
  handing their first sentences over at the same moment deadlocked there (2 processes of
  8, both threads waiting forever), so the model is never handed out before one array
  has crossed that bridge under ``_compiling``.
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


def compile_config(streams: int) -> dict[str, Any]:
    """OpenVINO's CPU settings for ``streams`` streams of one thread each."""
    return {
        "INFERENCE_PRECISION_HINT": PRECISION,
        "NUM_STREAMS": streams,
        "INFERENCE_NUM_THREADS": streams,
        "CPU_RUNTIME_CACHE_CAPACITY": 0,
        "ENABLE_CPU_PINNING": False,
    }


_compiling = threading.Lock()


def compiled(streams: int) -> Any:
    """The float graph compiled for ``streams`` one-thread streams (from the disk cache
    when a process has compiled it before), once per process: the pipeline's threads ask
    at the same moment, and two compiled models would be twice the memory."""
    with _compiling:
        return _compiled(streams)


@cache
def _compiled(streams: int) -> Any:
    import openvino

    path = ensure_graph()
    core = openvino.Core()
    cache_dir = cache_root() / "openvino"
    cache_dir.mkdir(parents=True, exist_ok=True)
    core.set_property({"CACHE_DIR": str(cache_dir)})
    model = core.compile_model(str(path), "CPU", compile_config(streams))
    precision = str(model.get_property("INFERENCE_PRECISION_HINT"))
    if "bf" not in precision.lower():  # never speak f32 samples under a bf16 key
        from ...errors import EngineError

        raise EngineError(f"OpenVINO compiled Kokoro in {precision}, not bf16, on this CPU")
    _cross_the_numpy_bridge(openvino)
    return model


def _cross_the_numpy_bridge(openvino: Any) -> None:
    """Touch a tensor's numpy view once, on the one thread compiling (module docstring)."""
    import numpy as np

    openvino.Tensor(np.zeros(1, dtype=np.float32)).data.sum()


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


def speaker(streams: int) -> Speaker:
    """A new request on the process's model of ``streams`` one-thread streams."""
    return Speaker(compiled(streams))
