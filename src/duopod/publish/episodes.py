"""The published episodes as records: reading them back from ``episodes/*/episode.json``,
and an episode's identity (which folder, slug and GUID a script's episode has)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from ..script.model import Script
from ..workspace import Workspace
from .record import EpisodeRecord, RecordError

EPISODE_FILE = "episode.json"

Records = list[EpisodeRecord]


def read_record(path: Path, *, light: bool = False) -> EpisodeRecord:
    """One ``episode.json``; RecordError (naming the file) when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: unreadable episode record ({exc})") from None
    try:
        return EpisodeRecord.from_json(text, light=light)
    except RecordError as exc:
        raise RecordError(f"{path}: {exc}") from None


def load_records(workspace: Workspace) -> Records:
    """Every published episode's record, without timeline and source text (the site pages
    and the feed need neither), newest first. Dropping them as each file is read keeps
    memory flat, so the rebuild stays linear in the number of episodes."""
    folder = workspace.episodes_dir
    if not folder.is_dir():
        return []
    records = [read_record(path, light=True) for path in sorted(folder.glob(f"*/{EPISODE_FILE}"))
               if not path.parent.name.startswith(".")]
    records.sort(key=EpisodeRecord.sort_key, reverse=True)
    return records


def existing_record(workspace: Workspace, slug: str) -> EpisodeRecord | None:
    """The whole record published under ``slug``, if there is a readable one."""
    path = workspace.episodes_dir / slug / EPISODE_FILE
    if not path.is_file():
        return None
    try:
        return read_record(path)
    except RecordError:
        return None


def script_id(workspace: Workspace, path: Path) -> str:
    """How records name their script: its path relative to the show."""
    resolved = path.resolve()
    with contextlib.suppress(ValueError):
        return resolved.relative_to(workspace.root).as_posix()
    return resolved.as_posix()


def record_for_script(workspace: Workspace, script: Script, records: Records | None = None
                      ) -> EpisodeRecord | None:
    """The published episode this script made before (whatever its slug is now).
    ``records`` saves reading every episode again when the caller has them."""
    ours = script_id(workspace, script.path)
    records = load_records(workspace) if records is None else records
    return next((r for r in records if r.script == ours), None)


def settle_identity(workspace: Workspace, script: Script, force: bool = False,
                    records: Records | None = None) -> Script:
    """An episode keeps its slug (so its URLs) when its script is retitled, unless the
    front matter names a new slug; a slug another script published is refused."""
    previous = record_for_script(workspace, script, records)
    if previous and not script.meta.slug_given and previous.slug != script.meta.slug:
        script = replace(script, meta=replace(script.meta, slug=previous.slug))
    owner = existing_record(workspace, script.meta.slug)
    ours = script_id(workspace, script.path)
    if owner and owner.script and owner.script != ours and not force:
        raise InputError(
            f"slug {script.meta.slug!r} already belongs to the episode built from "
            f"{owner.script}; set another 'slug:' in the front matter or pass --force",
            script.path, 1,
        )
    return script


def unpublished_dir(workspace: Workspace) -> Path:
    """Where ``duopod unpublish`` keeps an episode's folder: out of the site, never deleted."""
    return workspace.cache_dir.parent / "unpublished"


def remembered_record(workspace: Workspace, script: Script) -> EpisodeRecord | None:
    """The newest record of an unpublished episode of this script: a later build publishes
    it again under the same GUID and number."""
    ours = script_id(workspace, script.path)
    found: list[EpisodeRecord] = []
    for path in unpublished_dir(workspace).glob(f"*/{EPISODE_FILE}"):
        try:
            record = read_record(path, light=True)
        except RecordError:
            continue
        if record.script == ours:
            found.append(record)
    return max(found, key=lambda r: r.sort_key(), default=None)
