"""One writer at a time, by exclusive ``flock``s on files under the show's private state.

The kernel drops a lock when its process dies, so a crash never leaves a stale lock; the
pid written inside is only there for messages. Three locks exist:

- the **site lock**: held by whatever changes ``episodes/`` as a whole (publishing,
  unpublishing, rebuilding the feed, recovery) and by what must read it at one moment
  (deploy's snapshot). Others wait their turn, so concurrent builds all land, and a deploy
  sees a build wholly or not at all;
- a **script lock**: one build per script at a time (a second refuses clearly);
- a **file lock** per producer file, taken by the door in ``owned``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import DuopodError

__all__ = ["file_lock", "process_alive", "script_lock", "site_lock", "site_lock_path"]


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool, busy_message: str) -> Iterator[None]:
    """Hold an exclusive flock on ``path``; with ``wait`` False, a lock someone else holds
    raises ``DuopodError(busy_message ...)`` naming the holder's pid."""
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
    """The show's one site lock (see the module's docstring); waits its turn. Taking it
    writes the holder's pid, so the lock file's mtime is when the current holder took it."""
    return file_lock(site_lock_path(cache_root), wait=True, busy_message="")


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
