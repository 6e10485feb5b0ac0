"""Which runtime speaks Kokoro here: onnxruntime on the int8 graph, or OpenVINO in bf16.

Where the CPU computes in bfloat16 (AMX or AVX512_BF16) and the ``bf16`` extra is
installed (``pip install 'duopod[bf16]'``: OpenVINO and onnx), the float graph made from
the same pinned weights (``kokoro_graph``) runs on those units for fewer CPU-seconds
(0.72x onnxruntime's on this project's AVX512_BF16 machine, about half with AMX), and
``auto`` takes it there: installing the extra is the producer's choice of it. It is heard
as well as onnxruntime's int8 samples only because the vocoder's sine generator stays in
f32 (``kokoro_openvino``): Whisper-base's CER over 136 Mandarin utterances was 0.174
all in bf16, 0.124 so, 0.116 with onnxruntime. A profile's ``[kokoro] backend``
("auto", "onnxruntime", "openvino") or ``DUOPOD_KOKORO_BACKEND`` (which wins) forces
either.

The two give different samples (bf16 rounds differently from int8), so the backend is
part of every cache key: a turn spoken by OpenVINO carries its key (this module's
``key_of``) in its engine settings, and a turn spoken by onnxruntime carries nothing new,
so every onnxruntime cache entry made before this module existed is still found.

Deciding costs no import: installed packages by ``find_spec`` and the CPU by its flags in
``/proc/cpuinfo`` (``duopod check`` resolves every profile).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ...errors import InputError
from .settings import EngineSettings

ONNXRUNTIME = "onnxruntime"
OPENVINO = "openvino"
CHOICES = ("auto", ONNXRUNTIME, OPENVINO)
ENVIRONMENT = "DUOPOD_KOKORO_BACKEND"
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
BF16_HINT = "pip install 'duopod[bf16]'"
GRAPH_VERSION = "2"
"""The float graph ``kokoro_graph`` makes from the int8 weights: bump it when that
conversion changes (it names the graph's file and is in every OpenVINO cache key)."""
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(path: Path = CPUINFO) -> frozenset[str]:
    """The first CPU's feature flags (empty where there is no ``/proc/cpuinfo``)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@cache
def has_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic OpenVINO uses (AMX tiles or AVX512_BF16)."""
    return bool(cpu_flags() & BF16_FLAGS)


def openvino_missing() -> list[str]:
    """The bf16 extra's import names not installed here."""
    return [name for name in ("openvino", "onnx") if importlib.util.find_spec(name) is None]


def openvino_unavailable() -> str | None:
    """Why OpenVINO cannot speak Kokoro here, or None."""
    if openvino_missing():
        return f"the bf16 extra is not installed ({BF16_HINT})"
    if not has_bf16():
        return "this CPU has no bf16 arithmetic (neither AMX nor AVX512_BF16)"
    return None


def resolve(requested: str = "auto", where: str = "") -> str:
    """The backend a profile's ``backend`` setting (or the environment, which wins)
    means on this machine: ``ONNXRUNTIME`` or ``OPENVINO`` (``auto``: OpenVINO wherever
    it can run). InputError for an unknown name, or for OpenVINO forced where it cannot
    run."""
    forced = os.environ.get(ENVIRONMENT, "").strip().lower()
    if forced:
        requested, where = forced, f"{ENVIRONMENT}={forced}"
    if requested not in CHOICES:
        raise InputError(f"unknown kokoro backend {requested!r}{_at(where)} (choose from "
                         f"{', '.join(CHOICES)})")
    if requested == ONNXRUNTIME:
        return ONNXRUNTIME
    reason = openvino_unavailable()
    if requested == OPENVINO and reason:
        raise InputError(f"the kokoro backend openvino cannot run here{_at(where)}: "
                         f"{reason}")
    return ONNXRUNTIME if reason else OPENVINO


def _at(where: str) -> str:
    return f" ({where})" if where else ""


def key_of(backend: str) -> str | None:
    """What a backend adds to a turn's engine settings, and so to its cache key: nothing
    for onnxruntime (today's keys stand), the runtime's version, precision and graph for
    OpenVINO (a new OpenVINO or graph re-renders rather than mixing samples)."""
    if backend == ONNXRUNTIME:
        return None
    return f"openvino {_version('openvino')} bf16, graph {GRAPH_VERSION}"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def backend_of(settings: EngineSettings) -> str:
    """The backend a turn's resolved settings name (``key_of``'s inverse)."""
    return OPENVINO if getattr(settings, "backend", None) else ONNXRUNTIME
