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

from ..disk.atomic import readable_by_all
from ..errors import InputError
from ..mix import MixedEpisode
from ..mix.tags import write_tags
from ..script.model import Script
from ..show.workspace import Workspace
from ..site.placeholders import placeholder_problems
from ..site.render import (
    check_listing,
    description,
    episode_notes,
    episode_record,
    publication_time,
    publish_site,
    write_episode_files,
    write_feed,
)
from ..site.renditions import make_renditions
from ..store.episodes import (
    EPISODE_FILE,
    Listing,
    Problem,
    area_dir,
    journal_of,
    load_listing,
    read_record,
    record_for_script,
    settle_identity,
    unpublished_dir,
)
from ..store.journal import AREAS, Entry
from ..store.numbering import UNNUMBERED, out_of_order, unpublished_records, with_numbers
from ..store.record import EpisodeRecord
from ..store.swap import swap_into_place
from ..text.notes import ShowNotes
from .areas import area_of, retire_old_folders, settle_areas
from .recovery import recover

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

    The audio moves into a staging folder beside the published ones (beside the pending
    ones, in ``.duopod/pending/``, for a draft or an episode not yet due: see ``areas``);
    its pages and record are written there; then, holding the site lock, the folder is
    swapped into place in one step and the feed and index are rebuilt. Builds of other
    scripts carry on meanwhile and wait only for the lock. ``notes`` may be worked out by
    the caller while it encodes.
    Every step that changes ``episodes/`` is written in the publish's journal entry first
    (see ``journal`` and ``recovery``). ``report`` hears of episodes that could not be
    listed and folders left alone (default: the ``duopod`` logger).
    """
    report = report or _log_problem
    journal = journal_of(workspace)
    area = area_of(_listed_now(workspace, script))
    with journal.open(script.meta.slug, area=area) as entry:
        staging = area_dir(workspace, area) / entry.staging
        swapped = False
        try:
            _make_staging(staging)
            audio = staging / f"{script.meta.slug}.mp3"
            _move(mixed.audio, audio)
            notes = notes or episode_notes(workspace, script, mixed.timeline)
            # tags go in before the record so the record's byte length is the final one
            write_tags(audio, script.meta, workspace.show, mixed.timeline, description(notes))
            renditions = make_renditions(audio, workspace.show.feed.renditions)
            with workspace.site_lock():
                problems = recover(workspace)
                settle_areas(workspace)
                listing = load_listing(workspace)  # read once: the steps below share it
                # another build may have landed meanwhile
                script = settle_identity(workspace, script, force, listing.known)
                record = episode_record(workspace, script, mixed.timeline, audio,
                                        mixed.measurement, notes, engine, listing.known)
                problems += _numbering_problems(workspace, script, record, listing)
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
                retire_old_folders(workspace, entry)
                journal.close(entry)
        finally:
            if not swapped:  # nothing in episodes/ changed: no need to leave the entry
                shutil.rmtree(staging, ignore_errors=True)
                journal.close(entry)
    for problem in problems:
        report(problem)
    return record


def _numbering_problems(workspace: Workspace, script: Script, record: EpisodeRecord,
                        listing: Listing) -> list[Problem]:
    """A warning when the number this episode is given now breaks date order (a
    back-catalogue episode built after later ones: see ``numbering``)."""
    before = record_for_script(workspace, script, listing.known)
    if script.meta.episode_number is not None or (before and before.number != UNNUMBERED):
        return []
    others = [r for r in [*listing.known, *unpublished_records(workspace)]
              if r.guid != record.guid]
    numbered = with_numbers(others, others, dt.datetime.now(dt.UTC))
    message = out_of_order(record, numbered)
    return [] if message is None else [Problem(script.path, message, fatal=False)]


def _listed_now(workspace: Workspace, script: Script) -> bool:
    """Does the episode belong in the feed now (as its record will say)?"""
    return (script.meta.lifecycle.status == "published"
            and publication_time(script, workspace.show) <= dt.datetime.now(dt.UTC))


def _make_staging(folder: Path) -> None:
    """The staging folder, under the name the journal entry gives it (written first)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir()
    readable_by_all(folder)


def _swap_in(workspace: Workspace, entry: Entry, staging: Path) -> Path | None:
    root = area_dir(workspace, entry.area)
    return swap_into_place(staging, root / entry.slug, root / entry.backup)


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
    if (slug.startswith(".") or "/" in slug or "\x00" in slug
            or not 0 < len(slug.encode("utf-8")) <= 255):  # no folder holds such a name
        shown = slug if len(slug) <= 80 else slug[:77] + "..."
        raise InputError(f"no published episode {shown!r} in {workspace.episodes_dir}")
    with workspace.site_lock():
        recover(workspace)
        settle_areas(workspace)
        folder = next((area_dir(workspace, area) / slug for area in AREAS
                       if (area_dir(workspace, area) / slug / EPISODE_FILE).is_file()), None)
        if folder is None:
            raise InputError(f"no published or pending episode {slug!r} in "
                             f"{workspace.episodes_dir} or {workspace.pending_dir}")
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
    with workspace.site_lock():
        problems = recover(workspace)
        settle_areas(workspace)
        listing = publish_site(workspace, all_pages=True)
    listing.problems[:0] = problems
    return listing


def rebuild_feed(workspace: Workspace) -> Listing:
    """Only feed.xml again, from the episodes' records."""
    with workspace.site_lock():
        problems = recover(workspace)
        settle_areas(workspace)
        listing = write_feed(workspace)
    listing.problems[:0] = problems
    return listing

