"""Writing files so that a crash never leaves half of one."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

__all__ = ["content_name", "readable_by_all", "write_atomically"]


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
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename:
    a reader sees the old file or the new one, never a part of either."""
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


@cache
def content_name(path: Path) -> str:
    """``cover.png`` -> ``cover-1a2b3c4d5e.png``: a published file named by what it holds,
    so a changed picture gets a new address (podcast apps cache images by URL)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return f"{path.stem}-{digest}{path.suffix.lower()}"
