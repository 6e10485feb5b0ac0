"""Kokoro's float graph: the pinned int8 weights dequantized, for a bf16 runtime.

The published Kokoro-82M v1.0 int8 export quantizes its weights and, at every call, its
activations (``DynamicQuantizeLinear`` feeding ``ConvInteger``/``MatMulInteger``). On
x86, onnxruntime runs those integer convolutions on uint8 x uint8 paths that use neither
VNNI nor AMX: they are most of the model's time. A runtime that computes in bfloat16 on
the CPU's own bf16 units (OpenVINO, ``kokoro_openvino``) needs float weights instead, so
this module makes that graph once from the verified int8 file, with the ``onnx``
package:

- every ``ConvInteger``/``MatMulInteger`` with its activation quantizer, output cast,
  rescale and re-quantized bias becomes one float ``Conv``/``MatMul`` whose weights are
  ``(w - zero_point) * scale`` and whose bias is the float bias the export started from;
- every Snake activation's ``Pow(Sin(a * x), 2)`` becomes a polynomial in the reduced
  argument (``sin^2`` has period pi; |error| < 2e-6): OpenVINO has no vector ``Sin``
  and ran the 48 of them in scalar code, 15% of the model's time, where the polynomial
  joins the element-wise kernels around it;
- the sine generator's phase (``SINE_PHASE``: a running sum of the F0 over the whole
  sentence, thousands of radians, scaled by 2, pi and 300 in three ``Mul`` nodes) gets
  one ``Mul`` by their product: OpenVINO would fuse the three into a new node that no
  longer carries the mark ``kokoro_openvino`` puts on that subgraph to keep it in f32
  (in bf16, 8 bits of mantissa, a phase of 5,000 radians is off by up to 16: the
  harmonic source became noise; Whisper's CER over 136 Mandarin utterances was 0.174
  all in bf16, 0.124 with this subgraph in f32, 0.116 with onnxruntime);
- the LSTMs stay as they are (``DynamicQuantizeLSTM``; OpenVINO reads them).

The result is checked against a pinned sha256 (the same inputs and code always give the
same bytes) and cached beside the int8 file under a name carrying that hash, written to
a temporary file and renamed into place, as the int8 file is.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import EngineError
from .kokoro_backend import BF16_HINT, GRAPH_VERSION
from .kokoro_model import MODEL_SHA256, cache_root, ensure_model

if TYPE_CHECKING:
    import numpy as np

GRAPH_SHA256 = "02f6df5f2c811f03b33ad68073e68924d3238e4a03a1359d6a15e07b2f7e7d61"
"""sha256 of the float graph this module makes from the pinned int8 file."""
SIN_SQUARED = (9.86945661, -32.46374279, 42.63212293, -29.3873435, 10.5340264)
"""sin^2(pi f) for |f| <= 1/2 as c1 g + c2 g^2 + ... + c5 g^5 with g = f^2: a Chebyshev
fit, |error| < 1.3e-6 (bf16 itself keeps 8 bits). Pinned, not fitted at run time, so the
graph's bytes never depend on the machine's linear algebra."""
SINE_PHASE = "/decoder/decoder/generator/m_source/l_sin_gen/"
"""The prefix of every tensor of the vocoder's sine generator (harmonics of the F0, their
running phase, its sine): computed in f32 under the bf16 hint (``kokoro_openvino``)."""


class GraphMismatch(EngineError):
    """The float graph made here is not the one this duopod was built to make."""


def graph_path(root: Path | None = None) -> Path:
    return (root or cache_root()) / (f"kokoro-v1.0.float-{MODEL_SHA256[:16]}-"
                                     f"g{GRAPH_VERSION}.onnx")


def ensure_graph(root: Path | None = None, sha256: str = GRAPH_SHA256) -> Path:
    """The float graph, made from the verified int8 model on first use (a few seconds)
    and kept only if its sha256 is ``sha256``."""
    target = graph_path(root)
    if target.is_file():
        return target
    source = ensure_model(root)
    data = float_graph_bytes(source)
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise GraphMismatch(
            f"the float Kokoro graph made from {source.name} has sha256 {digest[:16]}..., "
            f"not {sha256[:16]}...: reinstall the bf16 extra ({BF16_HINT})")
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".making-",
                                         suffix=".onnx")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def float_graph_bytes(int8_path: Path) -> bytes:
    """The serialised float graph made from the int8 model at ``int8_path``."""
    try:
        import onnx
    except ImportError:
        raise EngineError(f"making Kokoro's float graph needs the onnx package: "
                          f"{BF16_HINT}") from None
    model = onnx.load(str(int8_path))
    _Rewrite(model.graph).run()
    data: bytes = model.SerializeToString()
    return data


class _Rewrite:
    """One pass over the graph: integer layers to float ones, Snake's sine squared to a
    polynomial, then everything no longer used dropped."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.initial = {t.name: t for t in graph.initializer}
        self.producer: dict[str, Any] = {}
        self.consumers: dict[str, list[Any]] = defaultdict(list)
        for node in graph.node:
            for name in node.input:
                self.consumers[name].append(node)
            for name in node.output:
                self.producer[name] = node
        self.added: dict[str, Any] = {}
        self.replaced: dict[str, list[Any]] = {}  # a node, by its output -> its stand-in
        self.dropped: set[str] = set()

    def run(self) -> None:
        integer = 0
        for node in list(self.graph.node):
            if node.op_type in ("ConvInteger", "MatMulInteger"):
                self._float_layer(node)
                integer += 1
            elif node.op_type == "Sin" and self._snake_square(node):
                continue
            elif node.op_type == "CumSum":
                self._one_scale(node)
        if integer == 0:
            raise EngineError("the Kokoro model has no integer layers to dequantize")
        self._rebuild()

    # --- integer layers --------------------------------------------------------------

    def _array(self, name: str) -> np.ndarray:
        import numpy as np
        from onnx import numpy_helper

        if name not in self.initial:
            raise EngineError(f"the Kokoro graph's {name!r} is not a constant")
        return np.asarray(numpy_helper.to_array(self.initial[name]))

    def _only_consumer(self, name: str, op_type: str) -> Any:
        found = self.consumers[name]
        if len(found) != 1 or found[0].op_type != op_type:
            raise EngineError(f"unexpected Kokoro graph after {name!r}: "
                              f"{[n.op_type for n in found]}, not {op_type}")
        return found[0]

    def _float_layer(self, node: Any) -> None:
        """``ConvInteger``/``MatMulInteger`` -> [Add(bias)] -> Cast -> Mul(x_scale *
        w_scale) as one float ``Conv``/``MatMul`` writing the ``Mul``'s output."""
        from onnx import helper

        quantizer = self.producer[node.input[0]]
        if quantizer.op_type != "DynamicQuantizeLinear":
            raise EngineError(f"{node.name}: its input is not dynamically quantized")
        following = self.consumers[node.output[0]]
        bias: str | None = None
        step = following[0] if len(following) == 1 else None
        if step is not None and step.op_type == "Add":
            bias = self._float_bias(step, node.output[0])
            step = self._only_consumer(step.output[0], "Cast")
        elif step is None or step.op_type != "Cast":
            raise EngineError(f"{node.name}: unexpected consumers")
        rescale = self._only_consumer(step.output[0], "Mul")
        scales = self.producer[next(i for i in rescale.input if i != step.output[0])]
        weight_scale = [i for i in scales.input if i in self.initial]
        if scales.op_type != "Mul" or len(weight_scale) != 1 \
                or quantizer.output[1] not in scales.input:
            raise EngineError(f"{node.name}: its rescale is not x_scale * w_scale")
        weight_name = self._dequantized(node, weight_scale[0])
        inputs = [quantizer.input[0], weight_name, *([bias] if bias else [])]
        name = f"{node.name or node.output[0]}_float"
        if node.op_type == "ConvInteger":
            attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attributes.get("auto_pad") == b"NOTSET":
                del attributes["auto_pad"]
            replacement = helper.make_node("Conv", inputs, [rescale.output[0]], name=name,
                                           **attributes)
        else:
            replacement = helper.make_node("MatMul", inputs, [rescale.output[0]], name=name)
        self.replaced[rescale.output[0]] = [replacement]

    def _dequantized(self, node: Any, scale_name: str) -> str:
        """``(w - zero_point) * scale`` as float32 (per channel where the export is); one
        constant per weight, however many layers share it (the text encoder shares its
        layers' weights)."""
        import numpy as np
        from onnx import numpy_helper

        weight_name, zero_name = node.input[1], node.input[3] if len(node.input) > 3 else ""
        name = f"{weight_name}_float"
        if name in self.added:
            return name
        weight = self._array(weight_name).astype(np.float32)
        zero = self._array(zero_name).astype(np.float32) if zero_name else np.float32(0)
        scale = self._array(scale_name).astype(np.float32)
        if node.op_type == "ConvInteger":  # per output channel: the first axis
            shape = (-1,) + (1,) * (weight.ndim - 1)
            zero = zero.reshape(shape) if zero.ndim else zero
            scale = scale.reshape(shape) if scale.ndim else scale
        values = ((weight - zero) * scale).astype(np.float32)
        self.added[name] = numpy_helper.from_array(values, name)
        return name

    def _float_bias(self, add: Any, integer_output: str) -> str:
        """The float bias behind Add(Reshape(Cast(Floor(Div(bias, scale)))))."""
        from onnx import numpy_helper

        other = next(i for i in add.input if i != integer_output)
        chain = [self.producer[other]]
        for _ in range(3):
            chain.append(self.producer[chain[-1].input[0]])
        if [n.op_type for n in chain] != ["Reshape", "Cast", "Floor", "Div"]:
            raise EngineError(f"{add.name}: its bias is not a re-quantized float bias")
        source = chain[-1].input[0]
        name = f"{source}_float"
        if name not in self.added:
            self.added[name] = numpy_helper.from_array(self._array(source).reshape(-1), name)
        return name

    # --- Snake's sine squared --------------------------------------------------------

    def _snake_square(self, node: Any) -> bool:
        """``Pow(Sin(y), 2)`` as sin^2 by its period: u = y / pi, f = u - floor(u + 1/2),
        then SIN_SQUARED in f^2 by Horner. False (and nothing changed) for a lone Sin."""
        import numpy as np
        from onnx import helper, numpy_helper

        found = self.consumers[node.output[0]]
        if len(found) != 1 or found[0].op_type != "Pow" or found[0].input[1] not in \
                self.initial or float(self._array(found[0].input[1])) != 2.0:
            return False
        square = found[0]
        constants = {"snake_inv_pi": 1 / np.pi, "snake_half": 0.5,
                     **{f"snake_c{i + 1}": c for i, c in enumerate(SIN_SQUARED)}}
        for name, value in constants.items():
            if name not in self.added:
                self.added[name] = numpy_helper.from_array(np.array(value, np.float32), name)
        p = f"{node.output[0]}_squared"
        nodes = [helper.make_node("Mul", [node.input[0], "snake_inv_pi"], [f"{p}_u"]),
                 helper.make_node("Add", [f"{p}_u", "snake_half"], [f"{p}_uh"]),
                 helper.make_node("Floor", [f"{p}_uh"], [f"{p}_k"]),
                 helper.make_node("Sub", [f"{p}_u", f"{p}_k"], [f"{p}_f"]),
                 helper.make_node("Mul", [f"{p}_f", f"{p}_f"], [f"{p}_g"])]
        last = f"snake_c{len(SIN_SQUARED)}"
        for index in range(len(SIN_SQUARED) - 1, 0, -1):
            nodes.append(helper.make_node("Mul", [last, f"{p}_g"], [f"{p}_m{index}"]))
            nodes.append(helper.make_node("Add", [f"{p}_m{index}", f"snake_c{index}"],
                                          [f"{p}_a{index}"]))
            last = f"{p}_a{index}"
        nodes.append(helper.make_node("Mul", [last, f"{p}_g"], [square.output[0]]))
        self.replaced[node.output[0]] = nodes
        self.dropped.add(square.output[0])
        return True

    # --- the sine generator's phase ------------------------------------------------

    def _one_scale(self, node: Any) -> None:
        """A running sum's chain of ``Mul`` by scalar constants as one ``Mul`` by their
        product, writing the last one's output (nothing changed for a chain of one)."""
        import numpy as np
        from onnx import helper, numpy_helper

        chain: list[Any] = []
        scales: list[float] = []
        output = node.output[0]
        while len(self.consumers[output]) == 1:
            step = self.consumers[output][0]
            scale = next((i for i in step.input if i != output), "")
            if step.op_type != "Mul" or scale not in self.initial \
                    or self._array(scale).size != 1:
                break
            chain.append(step)
            scales.append(float(self._array(scale)))
            output = step.output[0]
        if len(chain) < 2:
            return
        name = f"{node.output[0]}_scale"
        self.added[name] = numpy_helper.from_array(np.array(np.prod(scales), np.float32),
                                                   name)
        self.replaced[output] = [helper.make_node("Mul", [node.output[0], name], [output],
                                                  name=chain[-1].name)]
        self.dropped.update(step.output[0] for step in chain[:-1])

    # --- the new graph ---------------------------------------------------------------

    def _rebuild(self) -> None:
        """Swap the replacements in, then keep only the nodes and constants the outputs
        still need (the quantizers and integer layers fall away), in their order."""
        nodes: list[Any] = []
        for node in self.graph.node:
            if node.output[0] in self.dropped:
                continue
            nodes.extend(self.replaced.get(node.output[0], [node]))
        needed = {output.name for output in self.graph.output}
        kept: list[Any] = []
        for node in reversed(nodes):
            if any(name in needed for name in node.output):
                kept.append(node)
                needed.update(name for name in node.input if name)
        kept.reverse()
        constants = [*self.graph.initializer, *self.added.values()]
        del self.graph.node[:]
        self.graph.node.extend(kept)
        del self.graph.initializer[:]
        self.graph.initializer.extend(_used(constants, needed))


def _used(constants: Iterable[Any], needed: set[str]) -> list[Any]:
    return [constant for constant in constants if constant.name in needed]
