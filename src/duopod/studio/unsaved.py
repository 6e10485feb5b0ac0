"""Text the producer typed but has not saved, kept in the show's private state, and the
versions a conflict set aside: nothing typed in the studio is lost to a closed tab, a
crash of the browser or of the studio (a SIGKILL included), or a choice in a conflict.

- The editor sends its text here a moment after each change (and the browser keeps it in
  its own storage too); opening the script again offers it back. It lives in
  ``.duopod/studio/unsaved/``, one JSON file per script, written atomically: never in
  scripts/ (a producer's folder holds only what the producer saved), never published.
  A save of the script drops it.
- A conflict ("changed on disk") is settled by the producer: keep mine writes over the
  other version, take theirs replaces the editor's text; either way the version given up
  is first copied into ``.duopod/studio/kept/`` and the page says where.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..disk.atomic import write_atomically
from ..show.workspace import Workspace

__all__ = ["Unsaved", "drop", "keep", "kept", "kept_names", "set_aside"]


@dataclass(frozen=True)
class Unsaved:
    """A script's unsaved text, the version of the file it was typed over (its SHA-256),
    and when it was typed (milliseconds since 1970, the browser's clock)."""

    name: str
    text: str
    base: str
    at: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "text": self.text, "base": self.base, "at": self.at}


def _folder(workspace: Workspace) -> Path:
    return workspace.state_dir / "studio" / "unsaved"


def _path(workspace: Workspace, name: str) -> Path:
    """One file per script, named by a hash of its name (a name may hold any character)."""
    return _folder(workspace) / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.json"


def keep(workspace: Workspace, unsaved: Unsaved) -> None:
    data = json.dumps(unsaved.to_json(), ensure_ascii=False).encode("utf-8")
    write_atomically(_path(workspace, unsaved.name), data)


def kept(workspace: Workspace, name: str) -> Unsaved | None:
    """The script's unsaved text, if any (an unreadable file reads as none)."""
    try:
        data = json.loads(_path(workspace, name).read_text(encoding="utf-8"))
        unsaved = Unsaved(data["name"], data["text"], data["base"], int(data["at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(v, str) for v in (unsaved.name, unsaved.text, unsaved.base)):
        return None
    return unsaved if unsaved.name == name else None


def drop(workspace: Workspace, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(workspace, name).unlink()


def kept_names(workspace: Workspace) -> set[str]:
    """The scripts that have unsaved text (for the episodes page)."""
    names = set()
    for path in _folder(workspace).glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            name = json.loads(path.read_text(encoding="utf-8"))["name"]
            if isinstance(name, str):
                names.add(name)
    return names


def set_aside(workspace: Workspace, name: str, text: str, whose: str) -> Path:
    """Copy a version a conflict gave up (``whose``: "theirs" or "mine") into
    ``.duopod/studio/kept/``, under the script's name and the moment; its path."""
    stem = re.sub(r"[^\w.-]+", "-", Path(name).stem)[:80] or "script"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = (workspace.state_dir / "studio" / "kept"
            / f"{stem}-{stamp}-{whose}{Path(name).suffix}")
    write_atomically(path, text.encode("utf-8"))
    return path
