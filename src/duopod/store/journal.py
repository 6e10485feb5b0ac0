"""A publish writes down what it is about to do to ``episodes/`` before doing it.

Each publish has one journal entry in ``.duopod/journal/``: a random token, from which the
names of every folder it makes in ``episodes/`` are derived (its staging folder, a backup
of the episode it replaces, the trash it moves an old folder to), the slug it publishes,
and, once known, the GUID and the slug the episode moves away from. The entry is the proof
that those folders are duopod's: ``recover`` removes a folder only when an entry names it,
never because of its name alone, so a producer's ``.old-drafts`` or ``.staging-area`` is
never touched.

The entry's owner holds an flock on ``<token>.lock`` for as long as it runs; the kernel
drops it when the process dies, so "the lock can be taken" means "the publish is over"
(no pid that might have been reused).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO

from ..disk.atomic import write_atomically

PUBLIC, PENDING = "episodes", "pending"
AREAS = (PUBLIC, PENDING)


@dataclass(frozen=True)
class Entry:
    """One publish, as written down before it touches ``episodes/``."""

    token: str
    pid: int
    slug: str
    guid: str | None = None
    moved_from: str | None = None
    """The slug the episode is leaving (a new ``slug:`` in the front matter), if any."""
    area: str = PUBLIC
    """Where the episode lands: ``episodes`` (the public site) or ``pending`` (a draft or
    an episode not yet due, in ``.duopod/pending/``). Its staging, backup and trash
    folders are made in that area's folder."""

    @property
    def staging(self) -> str:
        return f".staging-{self.token}"

    @property
    def backup(self) -> str:
        """Where the replaced episode waits when no atomic exchange is available."""
        return f".old-{self.token}"

    @property
    def trash(self) -> str:
        """Where a moved episode's old folder goes before it is deleted, so it is never
        half-deleted under its public name."""
        return f".trash-{self.token}"

    def names(self) -> tuple[str, str, str]:
        return (self.staging, self.backup, self.trash)


def journal_dir(state_root: Path) -> Path:
    """``state_root`` is the show's ``.duopod`` folder."""
    return state_root / "journal"


class Journal:
    """The journal folder: open entries, and the entries of publishes that are over."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, token: str, suffix: str) -> Path:
        return self.folder / f"{token}.{suffix}"

    @contextlib.contextmanager
    def open(self, slug: str, area: str = PUBLIC) -> Iterator[Entry]:
        """A new entry for this process, locked while the block runs. The entry file stays
        behind if the block fails (so ``recover`` finishes or undoes the publish); the
        caller calls ``close`` once everything it did is final."""
        self.folder.mkdir(parents=True, exist_ok=True)
        token, handle = self._new_lock()
        try:
            entry = Entry(token=token, pid=os.getpid(), slug=slug, area=area)
            self.write(entry)
            yield entry
        finally:
            handle.close()
            if not self._path(token, "json").exists():
                self._path(token, "lock").unlink(missing_ok=True)

    def _new_lock(self) -> tuple[str, IO[str]]:
        """A fresh token and its lock file, held. ``recover`` removes a lock file it finds
        without an entry, possibly between our open and our flock; holding a lock on a
        file no longer in the folder would hide us from it, so check and start again."""
        while True:
            token = secrets.token_hex(8)
            path = self._path(token, "lock")
            handle = path.open("a+")
            fcntl.flock(handle, fcntl.LOCK_EX)
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                    return token, handle
            handle.close()

    def write(self, entry: Entry) -> None:
        write_atomically(self._path(entry.token, "json"),
                         json.dumps(asdict(entry)).encode("utf-8"))

    def update(self, entry: Entry, **changes: str | None) -> Entry:
        """Write the entry again with ``changes`` (before the step they describe)."""
        entry = replace(entry, **changes)  # type: ignore[arg-type]
        self.write(entry)
        return entry

    def close(self, entry: Entry) -> None:
        """The publish is final: forget it."""
        self._path(entry.token, "json").unlink(missing_ok=True)

    def entries(self) -> list[Entry]:
        """Every entry on disk, open or abandoned (readers use them to hide a moved
        episode's old folder)."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in sorted(self.folder.glob("*.json")):
            entry = _read(path)
            if entry is not None:
                found.append(entry)
        return found

    @contextlib.contextmanager
    def abandoned(self) -> Iterator[list[Entry]]:
        """The entries whose publish is over (its lock can be taken), held locked while the
        block finishes or undoes them; lock files left without an entry are removed."""
        held: list[IO[str]] = []
        found: list[Entry] = []
        try:
            if self.folder.is_dir():
                for lock in sorted(self.folder.glob("*.lock")):
                    handle = _try_lock(lock)
                    if handle is None:
                        continue  # a publish still running
                    held.append(handle)
                    entry = _read(lock.with_suffix(".json"))
                    if entry is None:  # its owner died before the entry was written
                        self._drop(lock.stem)
                    else:
                        found.append(entry)
            yield found
        finally:
            for handle in held:
                handle.close()

    def forget(self, entry: Entry) -> None:
        """Remove an abandoned entry once it has been finished or undone."""
        self._drop(entry.token)

    def _drop(self, token: str) -> None:
        """An entry's files, its half-written updates included."""
        self._path(token, "json").unlink(missing_ok=True)
        for leftover in self.folder.glob(f".{token}.json.*.tmp"):
            leftover.unlink(missing_ok=True)
        self._path(token, "lock").unlink(missing_ok=True)


def _try_lock(path: Path) -> IO[str] | None:
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _read(path: Path) -> Entry | None:
    """An entry, or None when the file is gone or is not one of ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = Entry(token=str(data["token"]), pid=int(data["pid"]), slug=str(data["slug"]),
                      guid=data.get("guid"), moved_from=data.get("moved_from"),
                      area=str(data.get("area", PUBLIC)))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if entry.token != path.stem or not entry.token.isalnum() or entry.area not in AREAS:
        return None
    for name in (entry.slug, entry.moved_from or "x"):
        if "/" in name or name.startswith("."):
            return None
    return entry
