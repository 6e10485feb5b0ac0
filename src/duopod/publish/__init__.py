"""Stage 4, publish: a mixed episode becomes a folder of the static site (audio, page,
notes, transcripts, chapters, ``episode.json``), swapped into ``episodes/`` whole, and the
site around it (index page, feed) is rebuilt.

``publish_episode`` is the stage's entry point; ``republish`` and ``rebuild_feed`` redo
the site from the published records alone (no audio is read).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from ..errors import InputError
from ..mix import MixedEpisode
from ..mix.tags import write_tags
from ..script.model import Script
from ..workspace import Workspace
from .episodes import (
    EPISODE_FILE,
    Records,
    load_records,
    read_record,
    record_for_script,
    settle_identity,
    unpublished_dir,
)
from .notes import ShowNotes
from .record import EpisodeRecord
from .site import (
    description,
    episode_notes,
    episode_record,
    publish_site,
    staging_dir,
    write_episode_files,
    write_feed,
)
from .swap import recover, site_lock, swap_into_place

__all__ = ["EpisodeRecord", "publish_episode", "rebuild_feed", "republish", "unpublish_episode"]


def publish_episode(workspace: Workspace, script: Script, mixed: MixedEpisode, *,
                    engine: str, force: bool = False, notes: ShowNotes | None = None
                    ) -> EpisodeRecord:
    """Tag the mixed MP3 and publish it with everything derived from it.

    The audio moves into a staging folder beside the published ones; its pages and record
    are written there; then, holding the site lock, the folder is swapped into place in one
    step and the feed and index are rebuilt. Builds of other scripts carry on meanwhile and
    wait only for the lock. ``notes`` may be worked out by the caller while it encodes.
    """
    slug = script.meta.slug
    staging = staging_dir(workspace, slug)
    try:
        audio = staging / f"{slug}.mp3"
        _move(mixed.audio, audio)
        notes = notes or episode_notes(workspace, script, mixed.timeline)
        # tags go in before the record so the record's byte length is the final one
        write_tags(audio, script.meta, workspace.show, mixed.timeline, description(notes))
        with site_lock(workspace.cache_dir):
            recover(workspace.episodes_dir)
            records = load_records(workspace)  # read once: the steps below share them
            script = settle_identity(workspace, script, force, records)  # another may have landed
            record = episode_record(workspace, script, mixed.timeline, audio,
                                    mixed.measurement, notes, engine, records)
            write_episode_files(workspace, staging, record, records)
            if record.image and script.meta.lifecycle.image:
                shutil.copyfile(script.meta.lifecycle.image, staging / record.image)
            moved_from = _previous_folder(workspace, script, records)
            swap_into_place(staging, workspace.episodes_dir / slug)
            if moved_from is not None:  # a new slug in the front matter: the episode moved
                shutil.rmtree(moved_from, ignore_errors=True)
            publish_site(workspace, changed=slug)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


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


def _previous_folder(workspace: Workspace, script: Script, records: Records) -> Path | None:
    previous = record_for_script(workspace, script, records)
    if previous and previous.slug != script.meta.slug:
        return workspace.episodes_dir / previous.slug
    return None


def unpublish_episode(workspace: Workspace, slug: str) -> EpisodeRecord:
    """Take an episode out of the feed and the site. Its folder moves, whole, to
    ``.duopod/unpublished/`` (nothing is deleted), where its record keeps the GUID and the
    number: building its script again publishes it as the same episode."""
    folder = workspace.episodes_dir / slug
    if slug.startswith(".") or "/" in slug or not (folder / EPISODE_FILE).is_file():
        raise InputError(f"no published episode {slug!r} in {workspace.episodes_dir}")
    with site_lock(workspace.cache_dir):
        recover(workspace.episodes_dir)
        record = read_record(folder / EPISODE_FILE, light=True)
        keep = unpublished_dir(workspace)
        keep.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        _move(folder, keep / f"{slug}-{stamp}")
        publish_site(workspace, all_pages=True)
    return record


def republish(workspace: Workspace) -> Records:
    """Every page, the index and the feed again from the published episodes (no audio)."""
    with site_lock(workspace.cache_dir):
        recover(workspace.episodes_dir)
        return publish_site(workspace, all_pages=True)


def rebuild_feed(workspace: Workspace) -> Path:
    """Only feed.xml again, from the episodes' records."""
    with site_lock(workspace.cache_dir):
        return write_feed(workspace)
