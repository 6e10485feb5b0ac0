"""Keeping the published site valid whatever happens: locks and atomic folder swaps
(``recovery`` cleans up after a publish that was killed)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DuopodError

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool, busy_message: str) -> Iterator[None]:
    """Hold an exclusive flock on ``path``. The kernel drops it when the process dies, so a
    crash never leaves a stale lock; the pid inside is only there for the message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DuopodError(f"{busy_message} (held by pid {holder}); try again when it "
                              "finishes") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def script_lock(cache_root: Path, script: Path) -> contextlib.AbstractContextManager[None]:
    """One build per script at a time: a second one refuses clearly."""
    key = hashlib.sha256(str(script.resolve()).encode()).hexdigest()[:16]
    return file_lock(cache_root / "locks" / f"script-{key}.lock", wait=False,
                     busy_message=f"another duopod build is working on {script}")


def site_lock_path(cache_root: Path) -> Path:
    return cache_root / "locks" / "site.lock"


def site_lock(cache_root: Path) -> contextlib.AbstractContextManager[None]:
    """Publishing (swapping an episode in, rewriting the feed) one build at a time; others
    wait their turn, so concurrent builds of different scripts all land. Taking it writes
    the holder's pid, so the lock file's mtime is when the current holder took it."""
    return file_lock(site_lock_path(cache_root), wait=True, busy_message="")


def _renameat2() -> Any:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    function = getattr(libc, "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                             ctypes.c_uint]
    return function


_EXCHANGE = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    if _EXCHANGE is None:
        return False
    result = _EXCHANGE(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a))


def swap_into_place(staging: Path, target: Path, backup: Path) -> Path | None:
    """Replace the folder ``target`` with ``staging`` in one step: a reader sees the old
    episode or the new one, never neither. Returns where the replaced episode now is (the
    caller deletes it once the feed no longer describes it), or None.

    ``backup`` (a name the publish's journal entry gives) holds the old episode between two
    renames where no atomic exchange exists; ``recover`` puts it back if a kill comes
    between them."""
    if target.exists() and exchange(staging, target):
        return staging  # now holds the old episode
    if target.exists():
        os.rename(target, backup)
        os.rename(staging, target)
        return backup
    os.rename(staging, target)
    return None
