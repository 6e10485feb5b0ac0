"""Episode numbers and GUIDs for life: one rule for every way an episode is built.

An episode is numbered when it first belongs in the feed, not when it is built: a draft or
an episode scheduled for later is built unnumbered (``UNNUMBERED`` in its record) and
takes the next free number of its season once it is published and due, in publication
order among the episodes numbered at the same moment. A number, once given, is the
episode's for life: kept across rebuilds, retitles and unpublishing (an unpublished
episode's record, in ``.duopod/unpublished/``, still holds its number, so no other episode
takes it). An explicit ``episode:`` in the front matter always wins. Seasons number apart:
``season: 2`` with ``episode: 1`` is episode 1 of season 2.

A back-catalogue episode built after later ones takes the next number, not the one its
date would give: renumbering published episodes would make apps file them again. Give it
its number with ``episode:``.

A new episode's GUID is the UUIDv5 of its URL unless that GUID is already some episode's
(published or unpublished, of another script): then it is a random UUID, so that apps
never take a different episode for one they knew.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import replace

from ..show.workspace import Workspace
from .episodes import EPISODE_FILE, read_record, unpublished_dir
from .record import EpisodeRecord, RecordError

__all__ = ["UNNUMBERED", "effective_numbers", "new_guid", "number_for", "unpublished_records",
           "with_numbers"]

Records = list[EpisodeRecord]
UNNUMBERED = 0
"""The number in the record of an episode never yet in the feed (a draft, one not due)."""


def unpublished_records(workspace: Workspace) -> Records:
    """The records kept by ``duopod unpublish`` (their GUIDs and numbers stay reserved)."""
    found: Records = []
    for path in sorted(unpublished_dir(workspace).glob(f"*/{EPISODE_FILE}")):
        try:
            found.append(read_record(path, light=True))
        except RecordError:
            continue
    return found


def effective_numbers(records: Iterable[EpisodeRecord], now: dt.datetime) -> dict[str, int]:
    """GUID -> number for every record: a stored number as it is; an unnumbered one that is
    listed at ``now`` (a scheduled episode whose time came), the next free number of its
    season, in publication order; an unnumbered one not listed, ``UNNUMBERED``."""
    every = list(records)
    numbers: dict[str, int] = {}
    taken: dict[int | None, set[int]] = {}
    for record in every:
        if record.number != UNNUMBERED:
            numbers.setdefault(record.guid, record.number)
            taken.setdefault(record.season, set()).add(record.number)
    waiting = sorted((r for r in every if r.number == UNNUMBERED and r.guid not in numbers),
                     key=EpisodeRecord.sort_key)
    for record in waiting:
        if record.listed(now):
            season = taken.setdefault(record.season, set())
            numbers[record.guid] = max(season, default=0) + 1
            season.add(numbers[record.guid])
        else:
            numbers.setdefault(record.guid, UNNUMBERED)
    return numbers


def number_for(record: EpisodeRecord, previous: EpisodeRecord | None, explicit: int | None,
               records: Iterable[EpisodeRecord], now: dt.datetime) -> int:
    """The number ``record`` (being built; its own number ignored) is published with.
    ``previous`` is this script's earlier record, if any; ``records`` every other known
    and unpublished record."""
    if explicit is not None:
        return explicit
    others = [r for r in records if r.script != record.script]
    if not record.listed(now):
        kept = previous.number if previous else UNNUMBERED
        return kept if kept == UNNUMBERED or not _taken(others, record.season, kept) \
            else UNNUMBERED
    numbers = effective_numbers([*others, *([previous] if previous else [])], now)
    mine = numbers.get(previous.guid, UNNUMBERED) if previous else UNNUMBERED
    if mine != UNNUMBERED and not _taken(others, record.season, mine, numbers):
        return mine
    in_season = [numbers[r.guid] for r in others if r.season == record.season]
    return max(in_season, default=0) + 1


def _taken(others: Records, season: int | None, number: int,
           numbers: dict[str, int] | None = None) -> bool:
    return any((numbers or {}).get(r.guid, r.number) == number and r.season == season
               for r in others)


def with_numbers(listed: Records, every: Iterable[EpisodeRecord], now: dt.datetime
                 ) -> Records:
    """The ``listed`` records with the numbers the feed and index show (unnumbered ones
    that became due numbered); ``every`` is all known and unpublished records."""
    numbers = effective_numbers([*listed, *every], now)
    return [r if r.number != UNNUMBERED else replace(r, number=numbers[r.guid])
            for r in listed]


def new_guid(base_url: str, slug: str, records: Iterable[EpisodeRecord]) -> str:
    """A GUID for an episode no record knows yet: its URL's UUIDv5, unless an episode of
    another script (published or unpublished) already has that one."""
    candidate = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url}/{slug}/"))
    if any(r.guid == candidate for r in records):
        return str(uuid.uuid4())
    return candidate
