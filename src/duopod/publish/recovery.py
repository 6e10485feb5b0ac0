"""After a publish that was killed: finish or undo what its journal entry says it was doing,
and touch nothing else.

Called with the site lock held, first thing, by every command that writes the site. For
each abandoned journal entry (its owner is gone):

* an episode caught between the two renames of a swap without ``renameat2`` is put back;
* the staging folder (unfinished, or holding the episode a swap replaced) is removed;
* a swap that landed (the folder holds the entry's GUID) gets the site rebuilt, in case the
  kill came before the feed and index were; a move that landed (to a new slug, or between
  ``episodes/`` and ``.duopod/pending/``: see ``areas``) is then finished: the old folder
  (already hidden from the listing) is renamed to the entry's trash name and deleted. A
  move that did not land needs nothing: the old folder is still the episode.

An entry's folders are in its area's folder (``episodes/`` or ``.duopod/pending/``).

Only folders an entry names are removed. Leftover temporary files of ``write_atomically``
are removed when their name is one duopod writes and they are older than the lock (under
the lock, any such file is a killed writer's). A public folder that is not an episode is
left alone and reported, since it is published with the site.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..disk.atomic import content_name
from ..disk.locks import site_lock_path
from ..show.workspace import Workspace
from ..site.render import publish_site
from ..store.episodes import EPISODE_FILE, Problem, area_dir, journal_of
from ..store.journal import AREAS, Entry
from .areas import landed, retire_old_folders

_RANDOM = r"[a-z0-9_]{8}"  # tempfile's names
_SITE_FILES = ("index.html", "feed.xml")


def recover(workspace: Workspace) -> list[Problem]:
    """Finish or undo killed publishes, drop stale temporary files; the warnings about
    folders left alone. Call with the site lock held."""
    episodes = workspace.episodes_dir
    if not episodes.is_dir() and not workspace.pending_dir.is_dir():
        return []
    journal = journal_of(workspace)
    with journal.abandoned() as entries:
        for entry in entries:
            settle_swap(area_dir(workspace, entry.area), entry)
        done = [e for e in entries if landed(workspace, e)]
        if done:  # killed between its swap and the site's rebuild: rebuild it now
            publish_site(workspace)  # the listing hides moved episodes' old folders
        for entry in entries:
            if entry in done:
                retire_old_folders(workspace, entry)
            for area in AREAS:
                shutil.rmtree(area_dir(workspace, area) / entry.trash, ignore_errors=True)
            journal.forget(entry)
    remove_stale_temp_files(workspace)
    return foreign_folders(episodes) if episodes.is_dir() else []


def settle_swap(episodes: Path, entry: Entry) -> None:
    """Put back an episode caught between the two renames of a swap; remove the rest."""
    target, backup = episodes / entry.slug, episodes / entry.backup
    if backup.is_dir():
        if not target.exists():
            os.rename(backup, target)
        else:
            shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(episodes / entry.staging, ignore_errors=True)


def remove_stale_temp_files(workspace: Workspace) -> None:
    """``.index.html.<random>.tmp`` and the like, left by a killed ``write_atomically``:
    only duopod's own names, in episodes/ and its episode folders, older than the lock."""
    episodes = workspace.episodes_dir
    try:
        since = site_lock_path(workspace.cache_dir).stat().st_mtime_ns
    except FileNotFoundError:
        return
    cover = workspace.show.cover
    names = [*_SITE_FILES] + ([content_name(cover)] if cover and cover.is_file() else [])
    ours = re.compile(rf"\.({'|'.join(map(re.escape, names))})\.{_RANDOM}\.tmp")
    pages = re.compile(rf"\.index\.html\.{_RANDOM}\.tmp")
    candidates = [p for p in episodes.glob(".*.tmp") if ours.fullmatch(p.name)]
    candidates += [p for p in episodes.glob("*/.index.html.*.tmp")
                   if pages.fullmatch(p.name) and not p.parent.name.startswith(".")]
    for path in candidates:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime_ns < since:
                path.unlink()
        except FileNotFoundError:
            continue


def foreign_folders(episodes: Path) -> list[Problem]:
    """Public folders in episodes/ that are not episodes: left alone, but said, since
    whatever serves episodes/ publishes them too."""
    return [
        Problem(child, "not an episode folder (no episode.json): duopod leaves it alone, "
                "but it is published with the site", fatal=False)
        for child in sorted(episodes.iterdir())
        if not child.name.startswith(".") and child.is_dir()
        and not (child / EPISODE_FILE).exists()
    ]
