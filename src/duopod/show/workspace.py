"""The workspace: a show's folder with show.toml, voices/, templates/, scripts/ and
episodes/, and duopod's private state in .duopod/.

``load_workspace`` reads the show once into a ``Workspace`` (``show.config`` is the
schema); every stage receives it. ``ShowKeeper`` keeps it loaded for the studio.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..disk.locks import site_lock
from ..disk.owned import ProducerFiles
from ..errors import InputError
from .config import (
    LEXICON_FILE,
    SHOW_FILE,
    AudioSettings,
    MixSettings,
    MusicSettings,
    RemoteFeed,
    ShowConfig,
    ShowText,
    load_show,
)
from .targets import DeployTarget
from .voices import LANGUAGE_TAG, VoiceProfile, is_language_table, load_profiles
from .writer import WriterSettings

__all__ = ["LANGUAGE_TAG", "LEXICON_FILE", "SHOW_FILE", "AudioSettings", "DeployTarget",
           "MixSettings", "MusicSettings", "RemoteFeed", "ShowConfig", "ShowKeeper", "ShowText",
           "VoiceProfile", "Workspace", "WriterSettings", "find_workspace",
           "is_language_table", "load_profiles", "load_show", "load_workspace", "show_files"]


@dataclass(frozen=True)
class Workspace:
    root: Path
    show: ShowConfig
    profiles: dict[str, VoiceProfile]

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def clips_dir(self) -> Path:
        """``duopod clip``'s videos: the producer's to post, never part of the site."""
        return self.root / "clips"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def state_dir(self) -> Path:
        """duopod's private state (``.duopod/``): never part of the site, never deployed.
        It holds the speech cache, the publish journal, unpublished episodes, work and
        bundle folders; every path below it is named here."""
        return self.root / ".duopod"

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"

    @property
    def work_dir(self) -> Path:
        """Private folders of builds in progress (the MP3 before publishing)."""
        return self.state_dir / "work"

    @property
    def bundles_dir(self) -> Path:
        """Bundles made by queue workers, waiting for their publish job."""
        return self.state_dir / "bundles"

    @property
    def pending_dir(self) -> Path:
        """Drafts and episodes scheduled for later: built whole, served by the preview,
        never deployed (``episodes/`` holds only what the feed lists)."""
        return self.state_dir / "pending"

    @property
    def unpublished_dir(self) -> Path:
        """Episodes taken out of the feed, kept whole so a rebuild restores them."""
        return self.state_dir / "unpublished"

    @property
    def files(self) -> ProducerFiles:
        """The one door every write to a file the producer owns goes through (scripts,
        lexicon.toml, show.toml, voice profiles): see ``duopod.disk.owned``."""
        return show_files(self.root)

    def site_lock(self) -> contextlib.AbstractContextManager[None]:
        """The show's one site lock: publishing, unpublishing, the feed, recovery and
        deploy's snapshot all hold it (``duopod.disk.locks``)."""
        return site_lock(self.cache_dir)

    def profiles_for(self, hosts: Iterable[str], script_path: Path | None = None,
                     first_lines: Mapping[str, int] | None = None) -> dict[str, VoiceProfile]:
        """Each host's profile; a missing one is an error at the host's first line."""
        lines = first_lines or {}
        return {host: self.profile_for(host, script_path, lines.get(host)) for host in hosts}

    def profile_for(self, speaker: str, script_path: Path | None = None,
                    line: int | None = None) -> VoiceProfile:
        try:
            return self.profiles[speaker]
        except KeyError:
            available = ", ".join(
                f"{p.name} ({p.speaker})" for p in self.profiles.values()
            ) or "none"
            raise InputError(
                f"no voice profile for host {speaker!r} in voices/ (available: {available})",
                script_path, line,
            ) from None


def show_files(root: Path) -> ProducerFiles:
    """The producer's door for the show in ``root`` (its locks in ``.duopod/cache/locks``,
    beside the site lock)."""
    return ProducerFiles(root, root / ".duopod" / "cache" / "locks")


def find_workspace(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding show.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SHOW_FILE).is_file():
            return folder
    raise InputError(
        f"no {SHOW_FILE} found in {here} or any folder above it; run duopod inside a show's "
        "folder or pass --workspace DIR"
    )


def load_workspace(root: Path | None = None) -> Workspace:
    """The show at or above ``root``, read whole: show.toml and every voice profile."""
    root = find_workspace(root)
    show = load_show(root / SHOW_FILE, root)
    profiles = load_profiles(root / "voices")
    return Workspace(root=root, show=show, profiles=profiles)


class ShowKeeper:
    """The show kept loaded for a long-running face (the studio), read again only when a
    file it was read from changed: show.toml, a voice profile (added, changed or removed),
    the cover. Each file is known by its size and modification time in nanoseconds, so a
    request costs a few ``stat`` calls, not a parse of every file."""

    def __init__(self, root: Path) -> None:
        self.root = find_workspace(root)
        self._lock = threading.Lock()
        self._kept: tuple[tuple[tuple[str, int, int], ...], Workspace] | None = None

    def _stamp(self, paths: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
        found = []
        for path in sorted(set(paths)):
            try:
                stat = path.stat()
            except OSError:
                found.append((str(path), -1, -1))
                continue
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
        return tuple(found)

    def _sources(self, workspace: Workspace | None) -> list[Path]:
        voices = self.root / "voices"
        paths = [self.root / SHOW_FILE, voices, *sorted(voices.glob("*.toml"))]
        if workspace is not None and workspace.show.cover is not None:
            paths.append(workspace.show.cover)
        return paths

    def current(self) -> Workspace:
        """The show as it is on disk now: the kept one when nothing it came from changed."""
        with self._lock:
            kept = self._kept
            if kept is not None and self._stamp(self._sources(kept[1])) == kept[0]:
                return kept[1]
            stamp = self._stamp(self._sources(None))
            workspace = load_workspace(self.root)
            self._kept = (self._stamp(self._sources(workspace)) if workspace.show.cover
                          else stamp, workspace)
            return workspace


