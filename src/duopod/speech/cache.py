"""A content-addressed store of rendered speech, safe against crashes and corruption.

Each entry is two files named by the SHA-256 of what produced it (engine, engine version,
voice settings, text): ``<key>.json`` (sentence timings, the PCM's checksum and file name)
and the PCM (16-bit little-endian mono at SAMPLE_RATE), named ``<key>.<checksum>.pcm`` by
its own content (entries written before that are plain ``<key>.pcm``). Both are written to
a temporary name and renamed into place, the JSON last, so a killed process never leaves an
entry that looks complete; an entry whose checksum does not match is deleted and rendered
again.

A PCM file's content never changes under its name. That matters when builds run at once
(``build --jobs``, queue workers on one shared cache) and two of them render the same turn
(a show's usual greeting): speech engines are not bit-for-bit repeatable, and a build reads
its turns lazily while it mixes, so each must keep reading the audio its timings describe,
whichever of the two entries ends up in the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.decode import SAMPLE_RATE, to_pcm16
from ..disk.atomic import write_atomically
from ..disk.jsoncache import json_digest
from .analysis import SpeechAnalysis
from .model import SentenceSpan, Speech
from .pcm import PcmFile

FORMAT_VERSION = 1


def cache_key(engine: str, engine_version: str, settings: dict[str, Any], text: str) -> str:
    return json_digest({"format": FORMAT_VERSION, "engine": engine,
                         "version": engine_version, "settings": settings, "text": text})


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


class SpeechCache:
    def __init__(self, root: Path):
        self.root = root

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.pcm", folder / f"{key}.json"

    def has(self, key: str) -> bool:
        """Whether an entry for ``key`` is stored (cheap: its checksum is checked by get)."""
        return self._paths(key)[1].is_file()

    def get(self, key: str) -> Speech | None:
        """The entry for ``key``, its checksum verified, or None (a corrupt entry is
        deleted, so it is rendered again)."""
        _legacy, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            pcm_path = self._pcm_path(key, meta)
            digest, size = _file_digest(pcm_path)
        except (OSError, ValueError):
            return None
        if (
            meta.get("format") != FORMAT_VERSION
            or meta.get("sample_rate") != SAMPLE_RATE
            or digest != meta.get("sha256")
        ):
            self.discard(key)
            return None
        samples = PcmFile(pcm_path, size // 2)
        sentences = [SentenceSpan(**s) for s in meta["sentences"]]
        analysis = None
        if "analysis" in meta:
            found = meta["analysis"]
            analysis = SpeechAnalysis(found["trim"][0], found["trim"][1],
                                      np.array(found["steps"], dtype=np.float64))
        return Speech(samples, sentences, analysis)

    def put(self, key: str, speech: Speech) -> Speech:
        """Store ``speech``; returns it as stored (int16 samples), as ``get`` would."""
        _legacy, meta_path = self._paths(key)
        data = to_pcm16(speech.samples)
        digest = hashlib.sha256(data).hexdigest()
        pcm_path = meta_path.with_name(f"{key}.{digest[:16]}.pcm")
        write_atomically(pcm_path, data)
        meta = {
            "format": FORMAT_VERSION,
            "sample_rate": SAMPLE_RATE,
            "sha256": digest,
            "pcm": pcm_path.name,
            "sentences": [{"text": s.text, "start": s.start, "end": s.end}
                          for s in speech.sentences],
        }
        if speech.analysis is not None:
            meta["analysis"] = {
                "trim": [speech.analysis.trim_start, speech.analysis.trim_end],
                "steps": speech.analysis.steps.tolist(),
            }
        write_atomically(meta_path, json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        return Speech(PcmFile(pcm_path, len(data) // 2), list(speech.sentences),
                      speech.analysis)

    def _pcm_path(self, key: str, meta: dict[str, Any]) -> Path:
        """The PCM an entry's JSON names (only a plain file name is accepted)."""
        legacy, meta_path = self._paths(key)
        name = meta.get("pcm")
        if name is None:
            return legacy
        if not isinstance(name, str) or not name.startswith(f"{key}.") or "/" in name:
            raise ValueError(f"cache entry {key} names an odd file: {name!r}")
        return meta_path.with_name(name)

    def discard(self, key: str) -> None:
        legacy, meta_path = self._paths(key)
        paths = [legacy, meta_path]
        with contextlib.suppress(OSError, ValueError):
            paths.append(self._pcm_path(key, json.loads(meta_path.read_text("utf-8"))))
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
