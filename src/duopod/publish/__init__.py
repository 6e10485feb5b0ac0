"""Stage 4, publish: a mixed episode becomes a folder of the static site (audio, page,
notes, transcripts, chapters, ``episode.json``), swapped into ``episodes/`` whole, and the
site around it (index page, feed) is rebuilt.

``publish_episode`` is the stage's entry point; ``republish`` and ``rebuild_feed`` redo
the site from the published records alone (no audio is read).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from ..files import readable_by_all
from ..mix import MixedEpisode
from ..mix.tags import write_tags
from ..script.model import Script
from ..show.workspace import Workspace
from ..text.notes import ShowNotes
from .episodes import (
    EPISODE_FILE,
    Listing,
    Problem,
    journal_of,
    load_listing,
    read_record,
    record_for_script,
    settle_identity,
    unpublished_dir,
)
from .journal import Entry
from .placeholders import placeholder_problems
from .record import EpisodeRecord
from .recovery import recover, retire_old_folder
from .renditions import make_renditions
from .site import (
    check_listing,
    description,
    episode_notes,
    episode_record,
    publish_site,
    write_episode_files,
    write_feed,
)
from .swap import site_lock, swap_into_place

__all__ = ["EpisodeRecord", "Listing", "Problem", "Report", "publish_episode",
           "rebuild_feed", "republish", "unpublish_episode"]

Report = Callable[[Problem], None]

_log = logging.getLogger("duopod")


def _log_problem(problem: Problem) -> None:
    _log.warning("%s", problem)


def publish_episode(workspace: Workspace, script: Script, mixed: MixedEpisode, *,
                    engine: str, force: bool = False, notes: ShowNotes | None = None,
                    report: Report | None = None) -> EpisodeRecord:
    """Tag the mixed MP3 and publish it with everything derived from it.

    The audio moves into a staging folder beside the published ones; its pages and record
    are written there; then, holding the site lock, the folder is swapped into place in one
    step and the feed and index are rebuilt. Builds of other scripts carry on meanwhile and
    wait only for the lock. ``notes`` may be worked out by the caller while it encodes.
    Every step that changes ``episodes/`` is written in the publish's journal entry first
    (see ``journal`` and ``recovery``). ``report`` hears of episodes that could not be
    listed and folders left alone (default: the ``duopod`` logger).
    """
    report = report or _log_problem
    journal = journal_of(workspace)
    with journal.open(script.meta.slug) as entry:
        staging = workspace.episodes_dir / entry.staging
        swapped = False
        try:
            _make_staging(staging)
            audio = staging / f"{script.meta.slug}.mp3"
            _move(mixed.audio, audio)
            notes = notes or episode_notes(workspace, script, mixed.timeline)
            # tags go in before the record so the record's byte length is the final one
            write_tags(audio, script.meta, workspace.show, mixed.timeline, description(notes))
            renditions = make_renditions(audio, workspace.show.feed.renditions)
            with site_lock(workspace.cache_dir):
                problems = recover(workspace)
                listing = load_listing(workspace)  # read once: the steps below share it
                # another build may have landed meanwhile
                script = settle_identity(workspace, script, force, listing.known)
                record = episode_record(workspace, script, mixed.timeline, audio,
                                        mixed.measurement, notes, engine, listing.known)
                record = replace(record, renditions=renditions)
                write_episode_files(workspace, staging, record, listing.records)
                check_listing(workspace, listing, record)
                if record.image and script.meta.lifecycle.image:
                    shutil.copyfile(script.meta.lifecycle.image, staging / record.image)
                entry = journal.update(entry, slug=record.slug, guid=record.guid,
                                       moved_from=_moved_from(workspace, script, listing))
                swapped = True
                replaced = _swap_in(workspace, entry, staging)
                problems += publish_site(workspace, changed=record.slug).problems
                problems += placeholder_problems(workspace, script, record)
                if replaced is not None:  # the feed no longer describes it
                    shutil.rmtree(replaced, ignore_errors=True)
                retire_old_folder(workspace.episodes_dir, entry)
                journal.close(entry)
        finally:
            if not swapped:  # nothing in episodes/ changed: no need to leave the entry
                shutil.rmtree(staging, ignore_errors=True)
                journal.close(entry)
    for problem in problems:
        report(problem)
    return record


def _make_staging(folder: Path) -> None:
    """The staging folder, under the name the journal entry gives it (written first)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir()
    readable_by_all(folder)


def _swap_in(workspace: Workspace, entry: Entry, staging: Path) -> Path | None:
    episodes = workspace.episodes_dir
    return swap_into_place(staging, episodes / entry.slug, episodes / entry.backup)


def _move(source: Path, target: Path) -> None:
    """Rename when on one file system (the usual case), else copy (then remove a folder)."""
    try:
        os.replace(source, target)
    except OSError:
        if source.is_dir():
            shutil.copytree(source, target)
            shutil.rmtree(source)
        else:
            shutil.copyfile(source, target)


def _moved_from(workspace: Workspace, script: Script, listing: Listing) -> str | None:
    """The slug this script's episode is leaving (a new ``slug:`` in the front matter)."""
    previous = record_for_script(workspace, script, listing.known)
    if previous and previous.slug != script.meta.slug:
        return previous.slug
    return None


def unpublish_episode(workspace: Workspace, slug: str) -> EpisodeRecord:
    """Take an episode out of the feed and the site. Its folder moves, whole, to
    ``.duopod/unpublished/`` (nothing is deleted), where its record keeps the GUID and the
    number: building its script again publishes it as the same episode."""
    folder = workspace.episodes_dir / slug
    if slug.startswith(".") or "/" in slug or not (folder / EPISODE_FILE).is_file():
        raise InputError(f"no published episode {slug!r} in {workspace.episodes_dir}")
    with site_lock(workspace.cache_dir):
        recover(workspace)
        record = read_record(folder / EPISODE_FILE, light=True)
        keep = unpublished_dir(workspace)
        keep.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        # the site without it first: a kill before the move leaves it listed nowhere yet
        # still in place (unpublish again), never an item whose audio has gone
        publish_site(workspace, all_pages=True, hide=frozenset({slug}))
        _move(folder, keep / f"{slug}-{stamp}")
    return record


def republish(workspace: Workspace) -> Listing:
    """Every page, the index and the feed again from the published episodes (no audio).
    The listing's problems include the folders recovery left alone."""
    with site_lock(workspace.cache_dir):
        problems = recover(workspace)
        listing = publish_site(workspace, all_pages=True)
    listing.problems[:0] = problems
    return listing


def rebuild_feed(workspace: Workspace) -> Listing:
    """Only feed.xml again, from the episodes' records."""
    with site_lock(workspace.cache_dir):
        problems = recover(workspace)
        listing = write_feed(workspace)
    listing.problems[:0] = problems
    return listing

