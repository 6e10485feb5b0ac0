"""The writers' room's answer cache, shared by its engines: one JSON file per answer under
``.duopod/cache/writer/``, named by a key the engine makes from everything that can change
the answer (who answers: a server's address and model, or a model file's digest; the
protocol; the whole request). A damaged entry is asked for again, never trusted.

A model file is known by its SHA-256, not its name: the same name on a new download, or a
file edited in place, never answers from another file's cache. Hashing a 1 GB file takes
seconds, so the digest is remembered per (path, size, modification time) in
``writer/files.json``."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from ..disk.atomic import write_atomically
from .model import Completion

CHUNK = 1 << 20


class AnswerCache:
    """Answers kept in ``folder`` (None: nowhere, every request is asked)."""

    def __init__(self, folder: Path | None):
        self.folder = None if folder is None else folder / "writer"

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Completion(text=str(data["text"]), finish_reason=data.get("finish_reason"),
                              cached=True, structured=bool(data.get("structured")))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is asked for again

    def put(self, key: str, completion: Completion, model: str) -> None:
        path = self._path(key)
        if path is not None:
            data = {"text": completion.text, "finish_reason": completion.finish_reason,
                    "structured": completion.structured, "model": model}
            write_atomically(path, json.dumps(data, ensure_ascii=False).encode())

    def file_digest(self, path: Path) -> str:
        """``path``'s SHA-256, remembered while its size and modification time stay."""
        stat = path.stat()
        mark = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        memo_path = None if self.folder is None else self.folder / "files.json"
        memo: dict[str, str] = {}
        if memo_path is not None and memo_path.is_file():
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(memo_path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    memo = {str(k): str(v) for k, v in loaded.items()}
        if mark in memo:
            return memo[mark]
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
        memo[mark] = digest.hexdigest()
        if memo_path is not None:
            write_atomically(memo_path, json.dumps(memo, indent=1).encode())
        return memo[mark]
