"""The one door for every file the producer owns: scripts, ``lexicon.toml``, ``show.toml``
and the voice profiles. Nothing else in duopod writes them.

Why a door: the studio, ``duopod new``, ``draft``, ``translate`` and ``verify --fix`` all
write these files, the studio on worker threads at once. A read, change, write with no
check loses one of two concurrent changes (twenty concurrent "save to lexicon.toml" once
kept four entries, each answered "saved"). Here:

- every write names the **version** it replaces (the SHA-256 of the bytes read; ``ABSENT``
  for a file that must not exist yet) and is checked against the file under a lock of its
  own, so a write over a file that changed meanwhile is refused (``Changed``: the studio
  answers 409, the CLI one line) and nothing is written;
- ``update`` runs the change itself under that lock on what is there now, so concurrent
  updates (lexicon entries) all land, one after another;
- ``create`` never replaces anything: it fails when the file exists;
- every write is atomic (a temporary file, fsync, a rename or a link), so a crash leaves
  the old file or the new one; the path must lie inside the show's folder, links included.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import DuopodError, InputError
from .atomic import readable_by_all, write_atomically
from .locks import file_lock

__all__ = ["ABSENT", "Changed", "FileExists", "Owned", "ProducerFiles", "version_of"]

ABSENT = ""
"""The version of a file that does not exist."""


class FileExists(InputError):
    """``create`` found the name taken: nothing was written."""

    def __init__(self, path: Path) -> None:
        super().__init__("already exists: duopod never writes over a file it did not make",
                         path)
        self.path = path


class Changed(DuopodError):
    """The file is no longer the version the writer read: nothing was written."""

    def __init__(self, path: Path, current: str) -> None:
        super().__init__(f"{path.name} changed on disk since it was read; nothing was "
                         "written (read it again and redo the change)")
        self.path = path
        self.current = current


def version_of(data: bytes | None) -> str:
    return ABSENT if data is None else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Owned:
    """A producer file as read: its bytes (None: absent) and their version."""

    path: Path
    data: bytes | None
    version: str

    @property
    def text(self) -> str:
        """The bytes as text (a BOM dropped; an undecodable byte shown as U+FFFD)."""
        return "" if self.data is None else self.data.decode("utf-8-sig", errors="replace")


class ProducerFiles:
    """The door for the show in ``root``; per-file locks live in ``locks``."""

    def __init__(self, root: Path, locks: Path | None = None) -> None:
        self.root = root.resolve()
        self.locks = locks
        """Where the per-file locks live (None: this door only creates new files)."""

    def _inside(self, path: Path) -> Path:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root) or resolved == self.root:
            raise InputError(f"{path} lies outside the show's folder: duopod writes a "
                             "producer's files only inside it")
        return resolved

    @contextlib.contextmanager
    def held(self, path: Path) -> Iterator[Path]:
        """This file's lock, for a caller that reads and writes in several steps."""
        resolved = self._inside(path)
        if self.locks is None:
            raise ValueError("this door only creates files: it has no place for locks")
        name = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
        with file_lock(self.locks / f"owned-{name}.lock", wait=True, busy_message=""):
            yield resolved

    def read(self, path: Path) -> Owned:
        resolved = self._inside(path)
        try:
            data: bytes | None = resolved.read_bytes()
        except FileNotFoundError:
            data = None
        return Owned(path, data, version_of(data))

    def write(self, path: Path, data: bytes, *, replaces: str) -> str:
        """Write ``data`` if the file is still the version ``replaces``; else ``Changed``.
        Returns the new version."""
        with self.held(path) as resolved:
            current = self.read(resolved).version
            if not hmac.compare_digest(current, replaces):
                raise Changed(path, current)
            write_atomically(resolved, data)
        return version_of(data)

    def update(self, path: Path, change: Callable[[Owned], bytes | None]) -> str:
        """Apply ``change`` to the file as it is now, under its lock, and write the result
        (``change`` returns None, or raises, to write nothing). Returns the version the
        file now has."""
        with self.held(path) as resolved:
            owned = self.read(resolved)
            data = change(owned)
            if data is None:
                return owned.version
            write_atomically(resolved, data)
        return version_of(data)

    def create(self, path: Path, data: bytes) -> str:
        """Write a new file whole; an existing one is never replaced (``FileExists``)."""
        self.create_together([(path, data)])
        return version_of(data)

    def create_together(self, files: list[tuple[Path, bytes]]) -> None:
        """Write new files, all of them or none (a script and its source article): each
        is written under a temporary name and linked into place, which fails when the
        name is taken; on any failure the ones already placed are removed again."""
        placed: list[Path] = []
        try:
            for path, data in files:
                self._link_new(path, data)
                placed.append(self._inside(path))
        except BaseException:
            for done in placed:
                done.unlink(missing_ok=True)
            raise

    def _link_new(self, path: Path, data: bytes) -> None:
        resolved = self._inside(path)
        resolved.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=resolved.parent, prefix=f".{resolved.name}.",
                                   suffix=".tmp")
        try:
            readable_by_all(Path(tmp))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, resolved)  # fails, atomically, when the name is taken
            except FileExistsError:
                raise FileExists(path) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
