"""Writing files so that a crash never leaves half of one, and keeping paths a producer
gives inside the show's folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

from .errors import InputError


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


@cache
def content_name(path: Path) -> str:
    """``cover.png`` -> ``cover-1a2b3c4d5e.png``: a published file named by what it holds,
    so a changed picture gets a new address (podcast apps cache images by URL)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return f"{path.stem}-{digest}{path.suffix.lower()}"


def file_inside(base: Path, relative: str, root: Path, *, what: str, path: Path,
                line: int | None = None, base_name: str = "the script") -> Path:
    """The existing file ``relative`` names, resolved against ``base``, refused (InputError
    naming ``path`` and ``line``) when absolute, outside the show's folder ``root`` (links
    and ``..`` included), or missing. Every path a producer writes goes through here."""
    if Path(relative).is_absolute() or relative.startswith("~"):
        raise InputError(f"{what} {relative!r} must be a path relative to {base_name}", path,
                         line)
    resolved = (base / relative).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise InputError(f"{what} {relative!r} lies outside the workspace (the show's folder)",
                         path, line)
    if not resolved.is_file():
        raise InputError(f"{what} {relative!r} does not exist", path, line)
    return resolved


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs on this machine (ours always does; one we may not
    signal is alive). How stale work folders, publishing links and deploy leases left by a
    killed process are told from those of a running one."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
