"""Kokoro's backends: which one speaks, what it adds to the cache key, the float graph
made from the int8 weights, and OpenVINO in bf16 where this machine can run it.

The choice and the keys are tested everywhere; the graph rewrite where the ``onnx``
package is installed (on a small int8 graph built here); OpenVINO's own speech only
where the CPU has bf16 and the ``bf16`` extra is installed (skipped with the reason
otherwise). The rest of the suite runs onnxruntime (conftest).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from duopod.errors import InputError
from duopod.show.workspace import VoiceProfile
from duopod.speech.cache import cache_key
from duopod.speech.engines import EngineOptions, kokoro, kokoro_backend
from duopod.speech.engines.kokoro_backend import (
    ENVIRONMENT,
    ONNXRUNTIME,
    OPENVINO,
    cpu_flags,
    key_of,
    openvino_unavailable,
    resolve,
)
from duopod.speech.engines.kokoro_settings import KokoroSettings, profile_settings

needs_neural = pytest.mark.skipif(
    kokoro.unavailable() is not None,
    reason="the kokoro engine is not installed: pip install -e '.[neural]'")
needs_onnx = pytest.mark.skipif(importlib.util.find_spec("onnx") is None,
                                reason="onnx is not installed: pip install -e '.[bf16]'")
needs_bf16 = pytest.mark.skipif(
    kokoro.unavailable() is not None or openvino_unavailable() is not None,
    reason=f"OpenVINO cannot speak kokoro here: {openvino_unavailable()}")


def profile(tmp_path: Path, **settings: object) -> VoiceProfile:
    return VoiceProfile("lei", "雷总", tmp_path / "voices" / "lei.toml",
                        {"kokoro": {"voice": "zm_yunxi", **settings}})


@pytest.fixture
def auto(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No backend forced by the environment (the suite forces onnxruntime)."""
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    return monkeypatch


def machine(monkeypatch: pytest.MonkeyPatch, bf16: bool, installed: bool) -> None:
    monkeypatch.setattr(kokoro_backend, "has_bf16", lambda: bf16)
    monkeypatch.setattr(kokoro_backend, "openvino_missing",
                        lambda: [] if installed else ["openvino"])


# --- which backend --------------------------------------------------------------------

def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n\n"
                    "processor\t: 1\nflags\t\t: fpu\n", encoding="utf-8")
    assert {"avx512_bf16", "amx_tile"} <= cpu_flags(info)
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize(("bf16", "installed", "expected"), [
    (True, True, OPENVINO), (True, False, ONNXRUNTIME), (False, True, ONNXRUNTIME),
    (False, False, ONNXRUNTIME)])
def test_auto_takes_openvino_only_where_the_cpu_has_bf16_and_the_extra_is_installed(
        auto: pytest.MonkeyPatch, bf16: bool, installed: bool, expected: str) -> None:
    machine(auto, bf16, installed)
    assert resolve("auto") == expected
    assert resolve(ONNXRUNTIME) == ONNXRUNTIME
    if expected == ONNXRUNTIME:
        with pytest.raises(InputError, match="cannot run here"):
            resolve(OPENVINO)


def test_the_environment_forces_either_backend_over_the_profile(
        auto: pytest.MonkeyPatch) -> None:
    machine(auto, True, True)
    auto.setenv(ENVIRONMENT, "onnxruntime")
    assert resolve(OPENVINO) == ONNXRUNTIME
    auto.setenv(ENVIRONMENT, "OpenVINO")
    assert resolve(ONNXRUNTIME) == OPENVINO


def test_openvino_forced_where_it_cannot_run_is_refused_with_the_reason(
        auto: pytest.MonkeyPatch, tmp_path: Path) -> None:
    machine(auto, False, True)
    with pytest.raises(InputError, match="no bf16 arithmetic"):
        profile_settings(profile(tmp_path, backend="openvino"))
    machine(auto, True, False)
    with pytest.raises(InputError, match=r"duopod\[bf16\]"):
        profile_settings(profile(tmp_path, backend="openvino"))
    auto.setenv(ENVIRONMENT, "tensorrt")
    with pytest.raises(InputError, match=r"unknown kokoro backend 'tensorrt'.*DUOPOD_KOKORO"):
        profile_settings(profile(tmp_path))


def test_an_unknown_backend_in_a_profile_names_the_profile(auto: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown kokoro backend 'gpu'.*profile 'lei'"):
        profile_settings(profile(tmp_path, backend="gpu"))


# --- the cache key --------------------------------------------------------------------

def test_onnxruntime_keys_are_todays_and_openvino_keys_differ(auto: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    """A turn spoken by onnxruntime has the key it had before backends existed (its
    cache entries are found); one spoken by OpenVINO has another (never mixed)."""
    machine(auto, False, False)
    engine = kokoro.KokoroEngine()
    settings = profile_settings(profile(tmp_path, speed=1.1))
    assert settings.cache_fields() == {"voice": "zm_yunxi", "speed": 1.1}
    before = cache_key("kokoro", engine.version, KokoroSettings("zm_yunxi", 1.1), "早。")
    assert cache_key("kokoro", engine.version, settings, "早。") == before
    machine(auto, True, True)
    bf16 = profile_settings(profile(tmp_path, speed=1.1))
    assert bf16.backend == key_of(OPENVINO) and "bf16" in bf16.backend
    assert cache_key("kokoro", engine.version, bf16, "早。") != before
    assert kokoro_backend.backend_of(bf16) == OPENVINO
    assert kokoro_backend.backend_of(settings) == ONNXRUNTIME


@needs_neural
def test_onnxruntime_graph_levels_speak_the_same_samples() -> None:
    """The graph optimisation level is a matter of speed alone: the levels give the same
    samples, so GRAPH_LEVEL may change without touching a cache entry."""
    import onnxruntime

    from duopod.speech.engines import kokoro_model

    engine = kokoro.KokoroEngine()
    inputs = engine.sentence_inputs("H20和H200不是一回事。", KokoroSettings("zm_yunxi", 1.0))
    heard = []
    for level in ("ORT_ENABLE_ALL", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_BASIC"):
        original = kokoro_model.GRAPH_LEVEL
        try:
            kokoro_model.GRAPH_LEVEL = level
            model = kokoro_model.Model(kokoro_model.ensure_model(), threads=1)
        finally:
            kokoro_model.GRAPH_LEVEL = original
        assert model.session.get_session_options().graph_optimization_level == getattr(
            onnxruntime.GraphOptimizationLevel, level)
        heard.append([model.speak(tokens, style, 1.0) for tokens, style in inputs])
    for other in heard[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(heard[0], other, strict=True))


# --- the float graph ------------------------------------------------------------------

def small_int8_graph(path: Path) -> dict[str, np.ndarray]:
    """A graph quantized the way Kokoro's export is: a ConvInteger with its re-quantized
    bias, a Snake activation's Pow(Sin(a x), 2), a MatMulInteger with per-column scales;
    returns the float weights it was made from (dequantized) for the reference."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    conv_q = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    conv_zero, conv_scale = np.uint8(128), np.float32(0.01)
    bias = rng.normal(size=3).astype(np.float32)
    mm_q = rng.integers(-128, 128, (3, 5), dtype=np.int8)
    mm_zero = rng.integers(-3, 3, 5, dtype=np.int8)
    mm_scale = np.full(5, 0.02, dtype=np.float32)
    alpha = np.array([[[0.7], [1.3], [2.1]]], dtype=np.float32)

    def const(name: str, value: object) -> TensorProto:
        return numpy_helper.from_array(np.asarray(value), name)

    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node("ConvInteger", ["xq", "cw", "xz", "cz"], ["ci"], pads=[1, 1],
                         kernel_shape=[3]),
        helper.make_node("Mul", ["xs", "cs"], ["bs"]),
        helper.make_node("Div", ["cb", "bs"], ["bd"]),
        helper.make_node("Floor", ["bd"], ["bf"]),
        helper.make_node("Cast", ["bf"], ["bi"], to=TensorProto.INT32),
        helper.make_node("Reshape", ["bi", "shape"], ["br"]),
        helper.make_node("Add", ["ci", "br"], ["ca"]),
        helper.make_node("Cast", ["ca"], ["cf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["cf", "bs"], ["conv"]),
        helper.make_node("Mul", ["alpha", "conv"], ["ax"]),
        helper.make_node("Sin", ["ax"], ["sin"]),
        helper.make_node("Pow", ["sin", "two"], ["snake"]),
        helper.make_node("Transpose", ["snake"], ["t"], perm=[0, 2, 1]),
        helper.make_node("DynamicQuantizeLinear", ["t"], ["tq", "ts", "tz"]),
        helper.make_node("MatMulInteger", ["tq", "mw", "tz", "mz"], ["mi"]),
        helper.make_node("Cast", ["mi"], ["mf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["ts", "ms"], ["mss"]),
        helper.make_node("Mul", ["mf", "mss"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [const("cw", conv_q), const("cz", conv_zero), const("cs", conv_scale),
         const("cb", bias), const("shape", np.array([1, -1, 1], dtype=np.int64)),
         const("alpha", alpha), const("two", np.float32(2.0)), const("mw", mm_q),
         const("mz", mm_zero), const("ms", mm_scale)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.save(model, str(path))
    return {"conv": (conv_q.astype(np.float32) - conv_zero) * conv_scale, "bias": bias,
            "alpha": alpha, "mm": (mm_q.astype(np.float32) - mm_zero) * mm_scale}


def reference(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The float model the int8 one approximates, in numpy."""
    padded = np.pad(x[0], ((0, 0), (1, 1)))
    conv = np.stack([sum(weights["conv"][:, :, k] @ padded[:, k:k + x.shape[2]]
                         for k in range(3))], 0) + weights["bias"][None, :, None]
    snake = np.sin(weights["alpha"] * conv) ** 2
    return snake.transpose(0, 2, 1) @ weights["mm"]


@needs_onnx
def test_the_float_graph_is_the_int8_graph_dequantized(tmp_path: Path) -> None:
    """Every integer layer becomes a float one with (w - zero) * scale and the float bias,
    Snake's sine squared a polynomial: the graph computes the float model the int8 one
    was quantized from (to float32 rounding), with no quantizer left."""
    import onnx
    import onnxruntime

    from duopod.speech.engines.kokoro_graph import float_graph_bytes

    weights = small_int8_graph(tmp_path / "small.onnx")
    made = float_graph_bytes(tmp_path / "small.onnx")
    ops = {node.op_type for node in onnx.load_from_string(made).graph.node}
    assert {"Conv", "MatMul", "Floor"} <= ops
    assert not ops & {"ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", "Sin", "Pow"}
    x = np.random.default_rng(5).normal(size=(1, 4, 6)).astype(np.float32)
    (y,) = onnxruntime.InferenceSession(made, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})
    np.testing.assert_allclose(y, reference(weights, x), atol=2e-5)
    (quantized,) = onnxruntime.InferenceSession(
        str(tmp_path / "small.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    assert not np.allclose(quantized, y, atol=2e-5)  # the int8 one is only near it
    assert made == float_graph_bytes(tmp_path / "small.onnx")  # the same bytes every time


@needs_onnx
def test_a_graph_that_is_not_the_pinned_one_is_refused_and_nothing_is_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from duopod.speech.engines import kokoro_graph

    small_int8_graph(tmp_path / "small.onnx")
    monkeypatch.setattr(kokoro_graph, "ensure_model", lambda root: tmp_path / "small.onnx")
    with pytest.raises(kokoro_graph.GraphMismatch, match="sha256"):
        kokoro_graph.ensure_graph(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.onnx"]
    made = kokoro_graph.float_graph_bytes(tmp_path / "small.onnx")
    path = kokoro_graph.ensure_graph(tmp_path, hashlib.sha256(made).hexdigest())
    assert path.read_bytes() == made and path.name.startswith("kokoro-v1.0.float-")


@pytest.mark.slow
@needs_onnx
@needs_neural
def test_the_pinned_int8_weights_make_the_pinned_float_graph() -> None:
    from duopod.speech.engines.kokoro_graph import GRAPH_SHA256, float_graph_bytes
    from duopod.speech.engines.kokoro_model import ensure_model

    assert hashlib.sha256(float_graph_bytes(ensure_model())).hexdigest() == GRAPH_SHA256


# --- OpenVINO in bf16 -------------------------------------------------------------------

@pytest.fixture
def bf16(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(ENVIRONMENT, OPENVINO)
    return key_of(OPENVINO) or ""


@pytest.mark.slow
@needs_bf16
def test_openvino_speaks_in_the_pipeline_what_it_speaks_alone(bf16: str) -> None:
    """Turns at once through the OpenVINO pipeline come out sample for sample as the same
    sentences one after another on the shared session (a turn heard in the studio is
    cached for the build), and as long as onnxruntime says them, within 5%."""
    from concurrent.futures import ThreadPoolExecutor

    engine = kokoro.make_engine(EngineOptions())
    turns = [(["今天聊聊H200芯片。", "♪", "DeepSeek-R1 671B这样的大模型，需要很多算力。"],
              KokoroSettings("zm_yunxi", 1.0, bf16)),
             (["早上好。", "H20和H200不是一回事。"], KokoroSettings("zf_xiaobei", 1.1, bf16))]
    with ThreadPoolExecutor(len(turns)) as pool:
        piped = list(pool.map(lambda turn: engine.render_sync(*turn), turns))
    for (sentences, settings), speech in zip(turns, piped, strict=True):
        alone = engine.render_in_order(sentences, settings)
        assert np.array_equal(np.asarray(speech.samples), np.asarray(alone.samples))
        assert speech.sentences == alone.sentences
        assert np.sqrt(np.mean(np.asarray(speech.samples) ** 2)) > 0.02
        plain = replace(settings, backend=None)
        onnx = engine.render_in_order(sentences, plain)
        assert abs(len(speech.samples) / len(onnx.samples) - 1) < 0.05
        assert not np.array_equal(np.asarray(onnx.samples[:1000]),
                                  np.asarray(speech.samples[:1000]))


# --- --jobs with kokoro -----------------------------------------------------------------

def test_kokoro_builds_at_once_hold_back_to_what_the_cores_hold(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A kokoro build keeps one core per inference session busy: on two cores a second
    build at once would only take turns (and hold a second model), so --jobs 2 builds one
    at a time and says so; other engines, and more cores, keep what was asked."""
    from duopod.build import scripts
    from duopod.build.pool import engine_jobs

    assert engine_jobs("kokoro", 2, cores=2) == 1
    assert engine_jobs("kokoro", 4, cores=8) == 4
    assert engine_jobs("kokoro", 8, cores=8) == 4
    assert engine_jobs("espeak", 2, cores=2) == 2
    monkeypatch.setenv("DUOPOD_KOKORO_SESSIONS", "1")
    assert engine_jobs("kokoro", 2, cores=2) == 2
    monkeypatch.delenv("DUOPOD_KOKORO_SESSIONS")
    monkeypatch.setattr("duopod.build.pool.usable_cores", lambda: 2)
    said: list[str] = []
    assert scripts._held_back(2, "kokoro", said.append) == 1
    assert said and "1 script(s) at a time, not 2" in said[0]
    assert scripts._held_back(2, "espeak", said.append) == 2 and len(said) == 1


@needs_onnx
def test_the_pipeline_threads_share_one_compiled_model(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """The pipeline's threads ask for the compiled model at the same moment: it is made
    once (two would be twice the memory: measured 2.9 GB against 1.4)."""
    import threading
    import time

    from duopod.speech.engines import kokoro_openvino

    made: list[int] = []

    def slow(streams: int) -> object:
        made.append(streams)
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(kokoro_openvino, "_compiled", functools.cache(slow))
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(kokoro_openvino.compiled(2)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == [2] and got[0] is got[1] is got[2]


# --- the sine generator kept in f32 -----------------------------------------------------

@needs_onnx
def test_a_running_sums_constant_scales_become_one(tmp_path: Path) -> None:
    """The sine generator's phase, CumSum * 2 * pi * 300, leaves the rewrite as one Mul by
    the product (OpenVINO would fuse the three into a node without the f32 mark) and
    computes the same values."""
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    scales = {"two": 2.0, "pi": np.pi, "up": 300.0}
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             helper.make_node("MatMulInteger", ["xq", "w", "xz"], ["mi"]),
             helper.make_node("Cast", ["mi"], ["mf"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["xs", "ws"], ["mss"]),
             helper.make_node("Mul", ["mf", "mss"], ["m"]),
             helper.make_node("CumSum", ["m", "axis"], ["c"]),
             helper.make_node("Mul", ["c", "two"], ["c2"]),
             helper.make_node("Mul", ["pi", "c2"], ["c3"]),
             helper.make_node("Mul", ["c3", "up"], ["y"])]
    constants = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in scales.items()]
    constants += [numpy_helper.from_array(np.eye(3, dtype=np.uint8), "w"),
                  numpy_helper.from_array(np.float32(1.0), "ws"),
                  numpy_helper.from_array(np.int64(0), "axis")]
    graph = helper.make_graph(
        nodes, "phase", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], constants)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.save(model, str(tmp_path / "phase.onnx"))
    from duopod.speech.engines.kokoro_graph import float_graph_bytes

    made = float_graph_bytes(tmp_path / "phase.onnx")
    ops = [node.op_type for node in onnx.load_from_string(made).graph.node]
    assert ops == ["MatMul", "CumSum", "Mul"]
    x = np.random.default_rng(7).uniform(0, 1, (4, 3)).astype(np.float32)
    (y,) = onnxruntime.InferenceSession(made, providers=["CPUExecutionProvider"]).run(
        None, {"x": x})
    np.testing.assert_allclose(y, np.cumsum(x, 0) * 2 * np.pi * 300, rtol=1e-6)


IR = """<?xml version="1.0"?>
<net name="g" version="11"><layers>
<layer id="0" name="p" type="Parameter" version="opset1"><output>
<port id="0" precision="FP32" names="x" /></output></layer>
<layer id="1" name="/g/sin/CumSum" type="CumSum" version="opset3"><output>
<port id="2" precision="FP32" names="/g/sin/CumSum_output_0" /></output></layer>
<layer id="2" name="Transpose_7" type="Transpose" version="opset1"><rt_info>
<attribute name="fused_names" version="0" value="t" /></rt_info><output>
<port id="2" precision="FP32" names="/g/sin/Mul_output_0" /></output></layer>
<layer id="3" name="/g/conv" type="Convolution" version="opset1"><output>
<port id="2" precision="FP32" names="/g/conv_output_0" /></output></layer>
</layers></net>"""


def test_the_sine_generators_layers_are_marked_precise_in_the_ir() -> None:
    """Every layer writing a tensor under the prefix (by its tensor names: a layer
    OpenVINO named itself counts too) gets the precise mark, beside any runtime info it
    had; the others none; a graph without such a layer is refused."""
    import xml.etree.ElementTree as ElementTree

    from duopod.errors import EngineError
    from duopod.speech.engines.kokoro_openvino import mark_precise

    root = ElementTree.fromstring(mark_precise(IR, "/g/sin/"))
    marks = {layer.get("name"): [a.get("name") for a in layer.iterfind("rt_info/attribute")]
             for layer in root.iter("layer")}
    assert marks == {"p": [], "/g/sin/CumSum": ["precise"],
                     "Transpose_7": ["fused_names", "precise"], "/g/conv": []}
    with pytest.raises(EngineError, match="no layer writing /g/phase/"):
        mark_precise(IR, "/g/phase/")


@pytest.mark.slow
@needs_bf16
def test_openvino_keeps_the_sine_generator_in_f32_and_the_rest_in_bf16() -> None:
    """The running phase (thousands of radians) in f32, the convolutions in bf16."""
    from duopod.speech.engines import kokoro_openvino

    model = kokoro_openvino.compiled(1)
    assert kokoro_openvino.phase_precision(model) == "f32"
    kinds = {(str(op.get_rt_info()["layerType"].astype(str)),
              str(op.get_rt_info()["runtimePrecision"].astype(str)))
             for op in model.get_runtime_model().get_ordered_ops()}
    assert ("Convolution", "bf16") in kinds and ("Convolution", "f32") not in kinds
