"""The site as one moment saw it: what a deploy uploads.

A deploy is slow (seconds to hours of uploads) and builds go on meanwhile. If it read
``feed.xml`` at one time and uploaded it at another, a build landing in between would put
up a feed naming an episode the deploy never sent. So the deploy takes a *snapshot* while
it holds the show's site lock (which every publish, unpublish and feed rebuild also holds):
each public file is hard-linked into a private folder, which takes milliseconds for a whole
show, and the lock is let go. Publishing never changes a file in place (every write is a
new file renamed over the old name, every episode folder is swapped whole), so the linked
files keep the content they had at that moment; the deploy hashes and uploads those. A
build that lands during the deploy is wholly in the next deploy, never half in this one.

Where a hard link cannot be made (a file system without them), the file is copied, still
under the lock. Snapshots live in ``.duopod/deploy/`` (never public); one left by a killed
deploy is removed by the next.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..disk.locks import process_alive
from ..show.workspace import Workspace
from .store import hidden

__all__ = ["LocalFile", "public_files", "site_snapshot"]

_SNAPSHOT = re.compile(r"^snapshot-(\d+)-")


@dataclass(frozen=True)
class LocalFile:
    path: Path
    size: int
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _public_paths(site: Path) -> Iterator[tuple[str, Path]]:
    """Every file under ``site`` a listener may fetch: hidden names (dot files and
    folders) left out, and anything a link would take outside the site."""
    if not site.is_dir():
        return
    for path in sorted(site.rglob("*")):
        key = path.relative_to(site).as_posix()
        if hidden(key) or not path.is_file() or not path.resolve().is_relative_to(site):
            continue
        yield key, path


def public_files(folder: Path) -> dict[str, LocalFile]:
    """The public files under ``folder`` (a snapshot, or the site itself), hashed."""
    site = folder.resolve()
    return {key: LocalFile(path, path.stat().st_size, _sha256(path))
            for key, path in _public_paths(site)}


@contextlib.contextmanager
def site_snapshot(workspace: Workspace) -> Iterator[Path]:
    """A private folder holding the public site as it was at one moment (see the module's
    docstring); removed when the ``with`` ends."""
    base = workspace.state_dir / "deploy"
    base.mkdir(parents=True, exist_ok=True)
    _sweep(base)
    folder = Path(tempfile.mkdtemp(dir=base, prefix=f"snapshot-{os.getpid()}-"))
    try:
        site = workspace.episodes_dir.resolve()
        with workspace.site_lock():
            for key, path in _public_paths(site):
                _place(path.resolve(), folder / key)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # no hard links here: a copy, still inside the lock
        shutil.copyfile(source, target)


def _sweep(base: Path) -> None:
    """Snapshots of deploys that were killed (their process is gone)."""
    for folder in base.iterdir():
        match = _SNAPSHOT.match(folder.name)
        if match and folder.is_dir() and not process_alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
