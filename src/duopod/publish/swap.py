"""Keeping the published site valid whatever happens: locks, atomic folder swaps, and
clean-up after a build that was killed."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import os
import shutil
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


def site_lock(cache_root: Path) -> contextlib.AbstractContextManager[None]:
    """Publishing (swapping an episode in, rewriting the feed) one build at a time; others
    wait their turn, so concurrent builds of different scripts all land."""
    return file_lock(cache_root / "locks" / "site.lock", wait=True, busy_message="")


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


def swap_into_place(staging: Path, target: Path) -> None:
    """Replace the folder ``target`` with ``staging`` in one step: a reader sees the old
    episode or the new one, never neither."""
    if target.exists() and exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the old episode
        return
    if target.exists():  # no atomic exchange here: two renames, recoverable by recover()
        old = target.with_name(f".old-{target.name}")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(target, old)
        os.rename(staging, target)
        shutil.rmtree(old, ignore_errors=True)
        return
    os.rename(staging, target)


def _alive(pid: str) -> bool:
    """Is the build that made a staging folder still running?"""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(episodes: Path) -> None:
    """After a killed build: put back an episode caught between two renames, and remove
    staging folders whose build is gone. Call with the site lock held."""
    if not episodes.is_dir():
        return
    for folder in episodes.iterdir():
        name = folder.name
        if name.startswith(".old-"):
            original = episodes / name[len(".old-") :]
            if not original.exists():
                os.rename(folder, original)
            else:
                shutil.rmtree(folder, ignore_errors=True)
        elif name.startswith(".staging-") and not _alive(name.split("-")[1]):
            shutil.rmtree(folder, ignore_errors=True)
        elif name.startswith(".") and name.endswith(".tmp") and folder.is_file():
            folder.unlink(missing_ok=True)
