"""Kokoro's backends side by side (``make bench``'s ``backends``): onnxruntime on the int8
graph (at two graph optimisation levels) and OpenVINO in bf16 on the float graph.

1. The bare model: the same sentences (every fourth of the Mandarin example), one after
   another, each backend in turn on each sentence (A B C A B C: the machine is shared),
   one thread each, as the build's pipeline runs them: CPU-seconds per audio second and
   wall real-time factor; whether the two onnxruntime levels give the same samples.
2. The engine as a build runs it: the whole example rendered cold (front end, pipeline,
   back end, analysis, cache) with each backend, against onnxruntime's bare int8 model on
   the same token ids through its pipeline: the build's speech CPU over today's model's.
3. What a listener hears: Whisper-base's character error rate per backend over every
   Mandarin sentence of the example and of the article it discusses, each said by both
   Mandarin voices (132 utterances), with the intelligibility benchmark's listener.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from duopod.speech.engines.kokoro_settings import KokoroSettings

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT = "DUOPOD_KOKORO_BACKEND"
Row = Callable[[str, str, str, bool], None]


def _forced(backend: str) -> None:
    os.environ[ENVIRONMENT] = backend


def backends() -> list[str]:
    from duopod.speech.engines.kokoro_backend import openvino_unavailable

    return ["onnxruntime"] + ([] if openvino_unavailable() else ["openvino"])


def bench_backends(work: Path, copy_show: Callable[[Path], Path], example: str, row: Row,
                   cer: bool = True) -> None:
    from duopod.speech.engines import kokoro
    from duopod.speech.engines.kokoro_backend import openvino_unavailable

    print("kokoro backends (onnxruntime int8, OpenVINO bf16)")
    if kokoro.unavailable():
        row("kokoro backends", f"skipped: {kokoro.unavailable()}", "runs", False)
        return
    if openvino_unavailable():
        row("kokoro bf16 backend", f"skipped: {openvino_unavailable()}", "-", True)
    before = os.environ.get(ENVIRONMENT)
    try:
        bare_model(row)
        engine_against_model(work, copy_show, example, row)
        if cer:
            intelligibility(row)
    finally:
        if before is None:
            os.environ.pop(ENVIRONMENT, None)
        else:
            os.environ[ENVIRONMENT] = before


def _sentence_inputs(sentences: list[str]) -> list[tuple[list[int], Any]]:
    from duopod.speech.engines.kokoro import KokoroEngine

    engine = KokoroEngine()
    voices = ("zm_yunxi", "zf_xiaobei")
    return [job for i, s in enumerate(sentences)
            for job in engine.sentence_inputs(s, KokoroSettings(voices[i % 2], 1.0))]


def bare_model(row: Row) -> None:
    import numpy as np
    from run import example_sentences

    from duopod.speech.engines import kokoro_model
    from duopod.speech.engines.kokoro_model import MODEL_RATE, Model, ensure_model

    inputs = _sentence_inputs(example_sentences()[::4])
    speakers: dict[str, Any] = {}
    for level in ("ORT_ENABLE_ALL", "ORT_ENABLE_EXTENDED"):
        original = kokoro_model.GRAPH_LEVEL
        kokoro_model.GRAPH_LEVEL = level
        try:
            speakers[f"onnxruntime {level[11:].lower()}"] = Model(ensure_model(), threads=1)
        finally:
            kokoro_model.GRAPH_LEVEL = original
    if "openvino" in backends():
        from duopod.speech.engines.kokoro_openvino import speaker

        speakers["openvino bf16"] = speaker(2)  # a request on the pipeline's model
    for one in speakers.values():  # first calls (kernels made) are not what we time
        one.speak(*inputs[0], 1.0)
    cpu = dict.fromkeys(speakers, 0.0)
    wall = dict.fromkeys(speakers, 0.0)
    samples = dict.fromkeys(speakers, 0)
    same = True
    for tokens, style in inputs:
        heard = {}
        for name, one in speakers.items():
            started, used = time.perf_counter(), time.process_time()
            heard[name] = one.speak(tokens, style, 1.0)
            wall[name] += time.perf_counter() - started
            cpu[name] += time.process_time() - used
            samples[name] += heard[name].size
        same &= bool(np.array_equal(heard["onnxruntime all"], heard["onnxruntime extended"]))
    base = cpu["onnxruntime all"] / samples["onnxruntime all"]
    for name in speakers:
        audio = samples[name] / MODEL_RATE
        row(f"kokoro bare model, {name}, one thread ({len(inputs)} sentences, "
            f"{audio:.0f} s of audio, A B C in turns)",
            f"{cpu[name] / audio:.3f} CPU-s per audio s ({base / (cpu[name] / samples[name]):.2f}"
            f"x onnxruntime's speed), RTF {wall[name] / audio:.3f}", "-", True)
    extended = (cpu["onnxruntime extended"] / samples["onnxruntime extended"]) / base
    row("kokoro onnxruntime graph level: EXTENDED's CPU over ALL's (same samples?)",
        f"{extended:.3f}x, samples {'identical' if same else 'DIFFERENT'}",
        "identical samples", same)


def engine_against_model(work: Path, copy_show: Callable[[Path], Path], example: str,
                         row: Row) -> None:
    """Each backend's cold render of the example against onnxruntime's bare model on the
    same token ids (through its two-session pipeline): the target is 0.6x."""
    from duopod.audio.decode import SAMPLE_RATE
    from duopod.build.pipeline import BuildOptions, load_script
    from duopod.show.workspace import load_workspace
    from duopod.speech.engines import EngineOptions, kokoro
    from duopod.speech.engines.kokoro_model import MODEL_RATE
    from duopod.speech.engines.kokoro_pipeline import shared_pipeline
    from duopod.speech.render import render_turns_async, turn_settings
    from duopod.text import split_sentences

    show = copy_show(work / "backends")
    ws = load_workspace(show)
    script = load_script(ws, show / "scripts" / example, BuildOptions())
    _forced("onnxruntime")
    engine = kokoro.make_engine(EngineOptions())
    settings = turn_settings(script, ws, engine)
    inputs = [(tokens, style, KokoroSettings.of(settings[turn.speaker]).speed)
              for turn in script.turns
              for sentence in split_sentences(turn.text)
              for tokens, style in engine.sentence_inputs(sentence, settings[turn.speaker])]
    pipeline = shared_pipeline()
    pipeline.submit(*inputs[0]).result()
    used = time.process_time()
    futures = [pipeline.submit(*job) for job in inputs]
    model_audio = sum(f.result().size for f in futures) / MODEL_RATE
    bare_cpu = time.process_time() - used
    row(f"kokoro: today's bare int8 model (onnxruntime, two one-thread sessions), the "
        f"example's {len(inputs)} model calls", f"{bare_cpu / model_audio:.3f} CPU-s per "
        f"audio s ({bare_cpu:.0f} CPU-s)", "-", True)
    for backend in backends():
        _forced(backend)
        engine = kokoro.make_engine(EngineOptions())
        voices = turn_settings(script, ws, engine)
        engine.render_sync(["预热。"], voices[script.turns[0].speaker])  # model loaded
        shutil.rmtree(ws.cache_dir, ignore_errors=True)
        started, used = time.perf_counter(), time.process_time()
        turns = asyncio.run(render_turns_async(script, ws, engine))
        wall, cpu = time.perf_counter() - started, time.process_time() - used
        audio = sum(len(t.speech.samples) for t in turns) / SAMPLE_RATE
        ratio = cpu / bare_cpu
        target, ok = ("<= 0.6x", ratio <= 0.6) if backend == "openvino" else ("-", True)
        row(f"kokoro: engine cold render with {backend} ({audio:.0f} s of audio), "
            "speech CPU over today's bare int8 model's for the same text",
            f"{ratio:.2f}x ({cpu:.0f} vs {bare_cpu:.0f} CPU-s); {cpu / audio:.3f} CPU-s "
            f"per audio s, RTF {wall / audio:.3f}", target, ok)


def mandarin_lines() -> list[tuple[str, str]]:
    """Every Mandarin sentence of the example and of its source article, each in both
    Mandarin voices (host name, sentence)."""
    from intelligibility import example_turns

    from duopod.text import split_sentences

    sentences = [s for t in example_turns() for s in split_sentences(t.text)]
    article = (ROOT / "scripts" / "sources" / "2025-12-10-h200.txt").read_text(
        encoding="utf-8")
    sentences += [s for line in article.splitlines() if line.strip()
                  for s in split_sentences(line.strip())]
    return [(host, s) for s in sentences for host in ("雷总", "董小姐")]


def intelligibility(row: Row) -> None:
    import numpy as np
    from intelligibility import Listener, cer, engine_voices, missing, speak

    if missing():
        row("kokoro CER per backend", f"skipped: {missing()}", "runs", False)
        return
    lines = mandarin_lines()
    listener = Listener()
    scores = {}
    for backend in backends():
        _forced(backend)
        engine, voices = engine_voices("kokoro")
        scores[backend] = float(np.mean([
            cer(text, listener.hear(speak(engine, [text], voices[host])))
            for host, text in lines]))
    for backend, score in scores.items():
        target, ok = "-", True
        if backend != "onnxruntime":
            gap = score - scores["onnxruntime"]
            target, ok = "within 0.01 of onnxruntime's", gap <= 0.01
        row(f"kokoro Whisper CER with {backend}, {len(lines)} Mandarin utterances (the "
            "example's and its article's sentences, both voices)", f"{score:.3f}", target, ok)
