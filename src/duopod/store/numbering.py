"""Episode numbers and GUIDs for life: one rule for every way an episode is built.

An episode is numbered when it first belongs in the feed, not when it is built: a draft or
an episode scheduled for later is built unnumbered (``UNNUMBERED`` in its record) and is
numbered once it is published and due. Numbers follow publication dates: an episode takes
the number after the highest one among the episodes of its season published before it,
when that number is free and below every number of the episodes published after it (so a
gap left by explicit numbers is filled in date order); episodes numbered at the same
moment are placed in publication order, and a build of several scripts lands them in
publication order (``build.scripts``). A number, once given, is the episode's for life:
kept across rebuilds, retitles and unpublishing (an unpublished episode's record, in
``.duopod/unpublished/``, still holds its number, so no other episode takes it). An
explicit ``episode:`` in the front matter always wins. Seasons number apart: ``season: 2``
with ``episode: 1`` is episode 1 of season 2.

A back-catalogue episode listed after later ones, where its date's place is taken, takes
the next free number rather than renumber published episodes (apps would file them
again); the build says so (``out_of_order``): give it its number with ``episode:``, or
put it in a season of its own.

A version in another language (``translation_of:``, written by ``duopod translate``) is
the same story as its original: it takes no number of its own (``UNNUMBERED`` in its
record, unless ``episode:`` says otherwise), and its language's feed shows its original's.

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

__all__ = ["UNNUMBERED", "date_order_number", "effective_numbers", "new_guid", "number_for",
           "out_of_order", "unpublished_records", "with_numbers"]

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
    listed at ``now`` (a scheduled episode whose time came), its number in date order
    (``date_order_number``), the waiting ones placed in publication order; an unnumbered
    one not listed, ``UNNUMBERED``."""
    given = list(records)
    # a version (translation_of) is numbered only by its own 'episode:'
    every = [r for r in given if r.translation_of is None or r.number != UNNUMBERED]
    numbers: dict[str, int] = {}
    for record in every:
        if record.number != UNNUMBERED:
            numbers.setdefault(record.guid, record.number)
    placed: dict[int | None, list[tuple[dt.datetime, int]]] = {}
    for record in every:
        if record.number != UNNUMBERED:
            placed.setdefault(record.season, []).append((record.published, record.number))
    waiting = sorted((r for r in every if r.number == UNNUMBERED and r.guid not in numbers),
                     key=EpisodeRecord.sort_key)
    for record in waiting:
        if record.listed(now):
            season = placed.setdefault(record.season, [])
            numbers[record.guid] = date_order_number(record.published, season)
            season.append((record.published, numbers[record.guid]))
    for record in given:
        numbers.setdefault(record.guid, UNNUMBERED)
    return numbers


def date_order_number(published: dt.datetime, numbered: list[tuple[dt.datetime, int]]
                      ) -> int:
    """The number an episode published at ``published`` takes among the ``numbered``
    episodes of its season (their publication times and numbers): the one after those
    published before it, if free and below those published after it; else the next free
    one."""
    before = [n for when, n in numbered if when <= published]
    after = [n for when, n in numbered if when > published]
    candidate = max(before, default=0) + 1
    if all(n > candidate for n in after):
        return candidate
    return max((n for _when, n in numbered), default=0) + 1


def out_of_order(record: EpisodeRecord, records: Iterable[EpisodeRecord]) -> str | None:
    """Why ``record``'s new number breaks date order among ``records`` (the other numbered
    episodes), if it does: the message a build prints."""
    mine = record.number
    same = [r for r in records if r.season == record.season and r.number != UNNUMBERED
            and r.guid != record.guid]
    older_higher = [r for r in same if r.published < record.published and r.number > mine]
    newer_lower = [r for r in same if r.published > record.published and r.number < mine]
    if mine == UNNUMBERED or not (older_higher or newer_lower):
        return None
    # the nearest number it crosses: it is dated before a lower one, or after a higher one
    other = (max(newer_lower, key=lambda r: r.number) if newer_lower
             else min(older_higher, key=lambda r: r.number))
    return (f"numbered {mine} although it is dated {record.date.isoformat()}, "
            f"{'before' if other.number < mine else 'after'} episode {other.number} "
            f"({other.slug}, {other.date.isoformat()}): published numbers never change; "
            "set 'episode:' in the front matter to give it another free number")


def number_for(record: EpisodeRecord, previous: EpisodeRecord | None, explicit: int | None,
               records: Iterable[EpisodeRecord], now: dt.datetime) -> int:
    """The number ``record`` (being built; its own number ignored) is published with.
    ``previous`` is this script's earlier record, if any; ``records`` every other known
    and unpublished record."""
    if explicit is not None:
        return explicit
    if record.translation_of is not None:
        return UNNUMBERED
    others = [r for r in records if r.script != record.script]
    if not record.listed(now):
        kept = previous.number if previous else UNNUMBERED
        return kept if kept == UNNUMBERED or not _taken(others, record.season, kept) \
            else UNNUMBERED
    numbers = effective_numbers([*others, *([previous] if previous else [])], now)
    mine = numbers.get(previous.guid, UNNUMBERED) if previous else UNNUMBERED
    if mine != UNNUMBERED and not _taken(others, record.season, mine, numbers):
        return mine
    in_season = [(r.published, numbers[r.guid]) for r in others
                 if r.season == record.season and numbers[r.guid] != UNNUMBERED]
    return date_order_number(record.published, in_season)


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
