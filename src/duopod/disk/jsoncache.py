"""Small derived results (show notes, the writers' room's answers) kept by the hash of
what they derive from: a changed input is a new name, so an entry is never stale, only
unused. A damaged or unreadable entry reads as missing and is made again."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .atomic import write_atomically

__all__ = ["JsonCache", "content_key", "json_digest"]


def json_digest(value: Any) -> str:
    """SHA-256 of a value's canonical JSON: the name of whatever was made from it."""
    identity = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def content_key(*parts: Any) -> str:
    return json_digest(parts)


class JsonCache:
    """JSON values in ``root``, one file per key (``fan_out``: under a folder named by the
    key's first two characters, for caches that grow large)."""

    def __init__(self, root: Path, *, fan_out: bool = False):
        self.root = root
        self.fan_out = fan_out

    def path(self, key: str) -> Path:
        return (self.root / key[:2] if self.fan_out else self.root) / f"{key}.json"

    def get(self, key: str) -> object | None:
        try:
            value: object = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        return value

    def put(self, key: str, value: object) -> None:
        write_atomically(self.path(key), json.dumps(value, ensure_ascii=False).encode("utf-8"))
