"""A content-addressed store of rendered speech, safe against crashes and corruption.

Each entry is two files named by the SHA-256 of what produced it (engine, engine version,
voice settings, text): ``<key>.pcm`` (16-bit little-endian mono at SAMPLE_RATE) and
``<key>.json`` (sentence timings and the PCM's checksum). Both are written to a temporary
name and renamed into place, the JSON last, so a killed process never leaves an entry that
looks complete; an entry whose checksum does not match is deleted and rendered again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .audio import to_pcm16
from .model import SAMPLE_RATE, SentenceSpan, Speech, SpeechAnalysis

FORMAT_VERSION = 1


def cache_key(engine: str, engine_version: str, settings: dict[str, Any], text: str) -> str:
    identity = json.dumps(
        {"format": FORMAT_VERSION, "engine": engine, "version": engine_version,
         "settings": settings, "text": text},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def readable_by_all(path: Path) -> None:
    """Give a file made by mkstemp/mkdtemp (private: 0600/0700) the usual permissions, so a
    web server can serve the published site."""
    mode = 0o777 if path.is_dir() else 0o666
    os.chmod(path, mode & ~_umask())


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        readable_by_all(Path(tmp))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class SpeechCache:
    def __init__(self, root: Path):
        self.root = root

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.pcm", folder / f"{key}.json"

    def get(self, key: str) -> Speech | None:
        pcm_path, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            data = pcm_path.read_bytes()
        except (OSError, ValueError):
            return None
        if (
            meta.get("format") != FORMAT_VERSION
            or meta.get("sample_rate") != SAMPLE_RATE
            or hashlib.sha256(data).hexdigest() != meta.get("sha256")
        ):
            self.discard(key)
            return None
        samples = np.frombuffer(data, dtype="<i2")
        sentences = [SentenceSpan(**s) for s in meta["sentences"]]
        analysis = None
        if "analysis" in meta:
            found = meta["analysis"]
            analysis = SpeechAnalysis(found["trim"][0], found["trim"][1],
                                      np.array(found["steps"], dtype=np.float64))
        return Speech(samples, sentences, analysis)

    def put(self, key: str, speech: Speech) -> Speech:
        """Store ``speech``; returns it as stored (int16 samples), as ``get`` would."""
        pcm_path, meta_path = self._paths(key)
        data = to_pcm16(speech.samples)
        write_atomically(pcm_path, data)
        meta = {
            "format": FORMAT_VERSION,
            "sample_rate": SAMPLE_RATE,
            "sha256": hashlib.sha256(data).hexdigest(),
            "sentences": [{"text": s.text, "start": s.start, "end": s.end}
                          for s in speech.sentences],
        }
        if speech.analysis is not None:
            meta["analysis"] = {
                "trim": [speech.analysis.trim_start, speech.analysis.trim_end],
                "steps": speech.analysis.steps.tolist(),
            }
        write_atomically(meta_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        return Speech(np.frombuffer(data, dtype="<i2"), list(speech.sentences), speech.analysis)

    def discard(self, key: str) -> None:
        for path in self._paths(key):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def __contains__(self, key: str) -> bool:
        return self._paths(key)[1].exists()
