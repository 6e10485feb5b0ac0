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
- **Precision**: everything in bf16 but the vocoder's sine generator (``SINE_PHASE``),
  whose running phase reaches thousands of radians where bf16 keeps 8 bits: its layers
  carry OpenVINO's ``precise`` mark, which the CPU plugin honours under the bf16 hint.
  Python sets only strings and numbers as runtime info, so the float graph is written
  once as OpenVINO IR with the mark in its XML (``ensure_ir``, under ``openvino/``, named
  by the graph version and OpenVINO's), and compiled from there. Measured (Whisper-base
  CER over 136 Mandarin utterances): onnxruntime 0.116, all-bf16 0.174, this 0.124, at
  0.380 CPU-s per audio second (all-bf16 0.376-0.396, onnxruntime 0.520-0.538).
"""

from __future__ import annotations

import os
import tempfile
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import EngineError
from .kokoro_backend import GRAPH_VERSION
from .kokoro_graph import SINE_PHASE, ensure_graph
from .kokoro_model import MODEL_SHA256, cache_root

if TYPE_CHECKING:
    import numpy as np

PRECISION = "bf16"
PRECISE = {"name": "precise", "version": "0"}
"""OpenVINO's runtime-info mark for a layer kept in its own precision (f32): an IR
layer's ``<rt_info><attribute name="precise" version="0"/></rt_info>``."""


def compile_config(streams: int) -> dict[str, Any]:
    """OpenVINO's CPU settings for ``streams`` streams of one thread each."""
    return {
        "INFERENCE_PRECISION_HINT": PRECISION,
        "NUM_STREAMS": streams,
        "INFERENCE_NUM_THREADS": streams,
        "CPU_RUNTIME_CACHE_CAPACITY": 0,
        "ENABLE_CPU_PINNING": False,
    }


def ir_path(root: Path | None = None) -> Path:
    return (root or cache_root()) / "openvino" / (
        f"kokoro-v1.0.float-{MODEL_SHA256[:16]}-g{GRAPH_VERSION}-"
        f"ov{version('openvino').split('-')[0]}.xml")


def ensure_ir(root: Path | None = None) -> Path:
    """The float graph as OpenVINO IR with the sine generator's layers marked precise,
    written on first use (its .bin first, then its .xml: the .xml's presence means both
    are whole)."""
    target = ir_path(root)
    if target.is_file() and target.with_suffix(".bin").is_file():
        return target
    import openvino

    model = openvino.Core().read_model(str(ensure_graph(root)))
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".making-") as making:
        made = Path(making) / "graph.xml"
        openvino.save_model(model, str(made), compress_to_fp16=False)
        del model
        marked = mark_precise(made.read_text(encoding="utf-8"), SINE_PHASE)
        made.write_text(marked, encoding="utf-8")
        os.replace(made.with_suffix(".bin"), target.with_suffix(".bin"))
        os.replace(made, target)
    return target


def mark_precise(xml: str, prefix: str) -> str:
    """IR ``xml`` with every layer that writes a tensor named ``prefix``... marked precise
    (kept in f32 under the bf16 hint). EngineError where there is none."""
    root = ElementTree.fromstring(xml)  # noqa: S314 (OpenVINO's own IR, just written)
    marked = 0
    for layer in root.iter("layer"):
        names = [name for port in layer.findall("output/port")
                 for name in port.get("names", "").split(",")]
        if not any(name.startswith(prefix) for name in names):
            continue
        info = layer.find("rt_info")
        if info is None:
            info = ElementTree.Element("rt_info")
            layer.insert(0, info)
        ElementTree.SubElement(info, "attribute", PRECISE)
        marked += 1
    if not marked:
        raise EngineError(f"the Kokoro graph has no layer writing {prefix}...")
    return ElementTree.tostring(root, encoding="unicode")


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

    path = ensure_ir()
    core = openvino.Core()
    cache_dir = cache_root() / "openvino"
    cache_dir.mkdir(parents=True, exist_ok=True)
    core.set_property({"CACHE_DIR": str(cache_dir)})
    model = core.compile_model(str(path), "CPU", compile_config(streams))
    precision = str(model.get_property("INFERENCE_PRECISION_HINT"))
    if "bf" not in precision.lower():  # never speak f32 samples under a bf16 key
        raise EngineError(f"OpenVINO compiled Kokoro in {precision}, not bf16, on this CPU")
    kept = phase_precision(model)
    if kept != "f32":  # an OpenVINO that no longer honours the mark: noise, not speech
        raise EngineError(f"OpenVINO runs Kokoro's sine generator in {kept}, not f32")
    _cross_the_numpy_bridge(openvino)
    return model


def phase_precision(model: Any) -> str:
    """The precision the compiled ``model`` runs the sine generator's running sum in."""
    for op in model.get_runtime_model().get_ordered_ops():
        if op.get_friendly_name() == f"{SINE_PHASE}CumSum":
            return str(op.get_rt_info()["runtimePrecision"].astype(str))
    return "nothing (no such layer)"


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
