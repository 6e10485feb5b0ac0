"""The published episodes as records: reading them back from ``episodes/*/episode.json``
(and the pending ones, drafts and episodes not yet due, from ``.duopod/pending/``), and an
episode's identity (which folder, slug and GUID a script's episode has)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError
from ..script.model import Script
from ..show.workspace import Workspace
from .journal import PENDING, PUBLIC, Entry, Journal, journal_dir
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


@dataclass(frozen=True)
class Problem:
    """Something on the published site that publishing worked around rather than publish
    garbage or stop: an episode it could not list anew, or a folder it left alone."""

    path: Path
    message: str
    slug: str | None = None
    """The episode folder whose item in the current feed is kept as it stands, if any."""
    fatal: bool = True
    """The command exits 1 (the site is not what the producer asked for)."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Listing:
    """The published episodes as publishing sees them."""

    records: Records = field(default_factory=list)
    """Readable records in ``episodes/`` whose audio is whole, newest first: what pages and
    the feed may list (a draft or an episode not yet due among them, left by an older
    duopod or a clock that went back, is left out there and moved to ``.duopod/pending/``
    by ``areas.settle_areas``)."""
    unlisted: Records = field(default_factory=list)
    """Readable records that are not listed anew (broken audio, a repeated GUID); their
    identity (GUID, number, script) still counts when an episode is published."""
    problems: list[Problem] = field(default_factory=list)
    listed: Records = field(default_factory=list)
    """What the feed written from this listing lists (no drafts, nothing not yet due)."""
    pending: Records = field(default_factory=list)
    """Readable records in ``.duopod/pending/`` whose audio is whole: drafts and episodes
    not yet due, linked from nothing public."""

    @property
    def known(self) -> Records:
        """Every readable record, pending ones included: for identity and numbering."""
        return [*self.records, *self.unlisted, *self.pending]


def area_dir(workspace: Workspace, area: str) -> Path:
    """The folder an area's episode folders sit in: ``episodes/`` or ``.duopod/pending/``."""
    return workspace.episodes_dir if area == PUBLIC else workspace.pending_dir


def episode_folder(workspace: Workspace, slug: str) -> Path:
    """Where the episode ``slug`` is: in ``episodes/``, else in ``.duopod/pending/``."""
    public = workspace.episodes_dir / slug
    pending = workspace.pending_dir / slug
    return pending if not public.exists() and pending.exists() else public


def other_area(area: str) -> str:
    return PENDING if area == PUBLIC else PUBLIC


def journal_of(workspace: Workspace) -> Journal:
    return Journal(journal_dir(workspace.state_dir))


def load_listing(workspace: Workspace, hide: frozenset[str] = frozenset()) -> Listing:
    """Every published episode's record, light (without timeline and source text: the
    site pages and the feed need neither, and memory stays flat), newest first; an
    episode whose record cannot be read or whose audio is not the one recorded becomes a
    Problem instead of stopping the others. An episode's old folder that a recorded move
    has replaced is not an episode any more, nor are the folders in ``hide``."""
    folder = workspace.episodes_dir
    listing = Listing()
    away = superseded(workspace)
    listing.pending = _pending_records(workspace, away[PENDING] | hide)
    if not folder.is_dir():
        return listing
    hidden = away[PUBLIC] | hide
    for path in sorted(folder.glob(f"*/{EPISODE_FILE}")):
        name = path.parent.name
        if name.startswith(".") or name in hidden:
            continue
        try:
            record = EpisodeRecord.from_json(_text(path), light=True)
        except RecordError as exc:
            listing.problems.append(Problem(path, str(exc), slug=name))
            continue
        wrong = folder_problem(path.parent, record)
        if wrong is not None:
            listing.problems.append(wrong)
            listing.unlisted.append(record)
        else:
            listing.records.append(record)
    _one_per_guid(workspace, listing)
    listing.records.sort(key=EpisodeRecord.sort_key, reverse=True)
    return listing


def _pending_records(workspace: Workspace, hidden: set[str] | frozenset[str]) -> Records:
    """The readable, whole episodes waiting in ``.duopod/pending/``, newest first."""
    found: Records = []
    for path in sorted(workspace.pending_dir.glob(f"*/{EPISODE_FILE}")):
        name = path.parent.name
        if name.startswith(".") or name in hidden:
            continue
        try:
            record = EpisodeRecord.from_json(_text(path), light=True)
        except RecordError:
            continue
        if folder_problem(path.parent, record) is None:
            found.append(record)
    return sorted(found, key=EpisodeRecord.sort_key, reverse=True)


def load_records(workspace: Workspace) -> Records:
    """The episodes that can be listed, newest first (see ``load_listing``)."""
    return load_listing(workspace).records


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"unreadable episode record ({exc})") from None


def folder_problem(folder: Path, record: EpisodeRecord) -> Problem | None:
    """Why this episode's folder cannot be listed as its record says, if it cannot: the
    enclosure's length must be the audio file's (its size; the audio is not read)."""
    name = record.audio.file
    if record.slug != folder.name:
        return Problem(folder / EPISODE_FILE, f"its slug {record.slug!r} is not its folder's "
                       "name", slug=folder.name)
    if not name or Path(name).name != name or name.startswith("."):
        return Problem(folder / EPISODE_FILE, f"audio file {name!r} is not a file in the "
                       "episode's folder", slug=folder.name)
    try:
        size = (folder / name).stat().st_size
    except OSError:
        return Problem(folder / name, "the audio file is missing", slug=folder.name)
    if size != record.audio.bytes:
        return Problem(folder / name, f"the audio file has {size} bytes where the record "
                       f"says {record.audio.bytes} (truncated or replaced)", slug=folder.name)
    return None


def moved_away(workspace: Workspace) -> set[str]:
    """Public folders on their way out (see ``superseded``)."""
    return superseded(workspace)[PUBLIC]


def superseded(workspace: Workspace) -> dict[str, set[str]]:
    """Per area, the folders of episodes whose recorded publish has landed elsewhere: the
    new folder holds the same GUID, so the old one (at the slug the episode moved from, or
    at its slug in the other area: a draft published, a published episode made a draft
    again) is on its way out and never listed."""
    hidden: dict[str, set[str]] = {PUBLIC: set(), PENDING: set()}
    for entry in journal_of(workspace).entries():
        if entry.guid is None or _guid_at(area_dir(workspace, entry.area) / entry.slug) \
                != entry.guid:
            continue
        for area, slug in old_places(entry):
            if _guid_at(area_dir(workspace, area) / slug) == entry.guid:
                hidden[area].add(slug)
    return hidden


def old_places(entry: Entry) -> list[tuple[str, str]]:
    """(area, slug) where the episode an entry publishes may have been before."""
    places = [(other_area(entry.area), entry.slug)]
    if entry.moved_from is not None:
        places += [(entry.area, entry.moved_from), (other_area(entry.area), entry.moved_from)]
    return places


def _guid_at(folder: Path) -> str | None:
    try:
        return EpisodeRecord.from_json(_text(folder / EPISODE_FILE), light=True).guid
    except RecordError:
        return None


def _one_per_guid(workspace: Workspace, listing: Listing) -> None:
    """Two folders with one GUID (left by hand, or by an older duopod killed mid-move):
    list the one whose record was written last, report the other."""
    def written(record: EpisodeRecord) -> int:
        path = workspace.episodes_dir / record.slug / EPISODE_FILE
        return path.stat().st_mtime_ns if path.exists() else 0

    keep: dict[str, EpisodeRecord] = {}
    for record in sorted(listing.records, key=written, reverse=True):
        first = keep.setdefault(record.guid, record)
        if first is not record:
            listing.unlisted.append(record)
            listing.problems.append(Problem(
                workspace.episodes_dir / record.slug / EPISODE_FILE,
                f"has the same GUID as {first.slug!r}, which is listed; remove one of the "
                "two folders"))
    listing.records = list(keep.values())


def existing_record(workspace: Workspace, slug: str) -> EpisodeRecord | None:
    """The whole record published (or pending) under ``slug``, if there is a readable one."""
    for root in (workspace.episodes_dir, workspace.pending_dir):
        path = root / slug / EPISODE_FILE
        if not path.is_file():
            continue
        try:
            return read_record(path)
        except RecordError:
            return None
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
    records = load_listing(workspace).known if records is None else records
    return next((r for r in records if r.script == ours), None)


def settle_identity(workspace: Workspace, script: Script, force: bool = False,
                    records: Records | None = None) -> Script:
    """An episode keeps its slug (so its URLs) when its script is retitled, unless the
    front matter names a new slug; a slug another script published is refused, and so is
    an ``episode:`` number another episode has (apps file episodes by number)."""
    records = load_listing(workspace).known if records is None else records
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
    _refuse_a_taken_number(workspace, script, records, force)
    return script


def _refuse_a_taken_number(workspace: Workspace, script: Script, records: Records,
                           force: bool) -> None:
    """The front matter's ``episode:`` may not be another published episode's number in
    the same season (the episode this one replaces, at its slug, does not count when
    forced)."""
    number = script.meta.episode_number
    if number is None:
        return
    ours = script_id(workspace, script.path)
    season = script.meta.lifecycle.season
    for other in records:  # seasons number apart (season 2, episode 1 is no season 1's)
        replaced = force and other.slug == script.meta.slug
        if (other.number == number and other.season == season and other.script != ours
                and not replaced):
            raise InputError(
                f"episode number {number} is already episode {other.slug!r} (built from "
                f"{other.script}); set another 'episode:' in the front matter",
                script.path,
            )


def unpublished_dir(workspace: Workspace) -> Path:
    """Where ``duopod unpublish`` keeps an episode's folder: out of the site, never deleted."""
    return workspace.unpublished_dir


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
