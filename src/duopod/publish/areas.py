"""Where an episode's folder lives: ``episodes/`` holds only what the feed lists; drafts and
episodes not yet due wait in ``.duopod/pending/``, which the preview serves and deploy
never sees (the README says to upload ``episodes/`` whole, so nothing private may sit in
it).

An episode changes area in three ways, each through a journal entry (see ``journal``)
and under the site lock: a build lands it in the area its script says (``publish``); a
scheduled episode whose time has come moves to ``episodes/`` (``settle_areas``, run by
every command that writes the site, after recovery); an episode in ``episodes/`` that is
not listed (a show built by an older duopod) moves out. A move is one rename, so a kill
leaves the folder in one place or the other; moving in, the folder lands before the feed
lists it; moving out, the feed and index are rewritten without it first.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
from pathlib import Path

from ..show.workspace import Workspace
from ..site.render import publish_site
from ..store.episodes import EPISODE_FILE, area_dir, journal_of, load_listing, old_places
from ..store.journal import PENDING, PUBLIC, Entry
from ..store.record import EpisodeRecord, RecordError


def area_of(listed_now: bool) -> str:
    return PUBLIC if listed_now else PENDING


def settle_areas(workspace: Workspace, now: dt.datetime | None = None) -> None:
    """Move due pending episodes into ``episodes/`` and unlisted ones out of it. Call with
    the site lock held, after ``recover``."""
    moment = now or dt.datetime.now(dt.UTC)
    listing = load_listing(workspace)
    public, pending = workspace.episodes_dir, workspace.pending_dir
    due = [r for r in listing.pending if r.listed(moment) and not (public / r.slug).exists()]
    early = [r for r in listing.records
             if not r.listed(moment) and not (pending / r.slug).exists()]
    for record in due:
        _move(workspace, record, PUBLIC)
    if early:  # the site without them first: a kill then leaves them unlisted, not gone
        publish_site(workspace, all_pages=True, hide=frozenset(r.slug for r in early))
        for record in early:
            _move(workspace, record, PENDING)


def _move(workspace: Workspace, record: EpisodeRecord, area: str) -> None:
    """One episode's folder into ``area``, written in a journal entry first; moving into
    ``episodes/``, the site is rebuilt once it has landed."""
    journal = journal_of(workspace)
    source = area_dir(workspace, PENDING if area == PUBLIC else PUBLIC) / record.slug
    root = area_dir(workspace, area)
    root.mkdir(parents=True, exist_ok=True)
    with journal.open(record.slug, area=area) as entry:
        entry = journal.update(entry, guid=record.guid)
        move_folder(source, root / entry.slug, root / entry.staging)
        if area == PUBLIC:
            publish_site(workspace, changed=record.slug, refresh=True)
        retire_old_folders(workspace, entry)
        journal.close(entry)


def move_folder(source: Path, target: Path, staging: Path) -> None:
    """``source`` renamed to ``target`` (absent); across file systems, copied to
    ``staging`` (a journal entry's name, so recovery removes it if the copy is cut short)
    and renamed into place, the source left for ``retire_old_folders``."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copytree(source, staging)
        os.rename(staging, target)


def _guid_in(folder: Path) -> str | None:
    try:
        text = (folder / EPISODE_FILE).read_text(encoding="utf-8")
        return EpisodeRecord.from_json(text, light=True).guid
    except (OSError, UnicodeDecodeError, RecordError):
        return None


def landed(workspace: Workspace, entry: Entry) -> bool:
    """The entry's episode is in place in its area (the site may not say so yet)."""
    return entry.guid is not None and \
        _guid_in(area_dir(workspace, entry.area) / entry.slug) == entry.guid


def old_folders(workspace: Workspace, entry: Entry) -> list[Path]:
    """The folders a landed entry's episode left (its old slug, its copy in the other
    area), if they are still there and still that episode (a producer may have put
    something else there since)."""
    found = []
    for area, slug in old_places(entry):
        folder = area_dir(workspace, area) / slug
        if folder.is_dir() and _guid_in(folder) == entry.guid:
            found.append(folder)
    return found


def retire_old_folders(workspace: Workspace, entry: Entry) -> None:
    """Delete the folders a landed episode left, once no feed lists them (the listing
    hides them from the moment the entry's episode landed): each renamed to the entry's
    trash name in its area first, so a kill never leaves half of one under its name."""
    if not landed(workspace, entry):
        return
    for old in old_folders(workspace, entry):
        trash = old.parent / entry.trash
        os.rename(old, trash)
        shutil.rmtree(trash, ignore_errors=True)
