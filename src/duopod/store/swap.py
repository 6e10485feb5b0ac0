"""Atomic folder swaps, so a reader of the published site sees the old episode or the new
one, never neither (``recovery`` cleans up after a publish that was killed; the site lock
they run under is ``duopod.disk.locks.site_lock``)."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from pathlib import Path
from typing import Any

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


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
