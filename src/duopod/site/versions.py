"""Versions of one episode in other languages, and the show's one feed per language.

A version is an episode whose script says ``translation_of: SLUG`` (``duopod translate``
writes it): it and the episode SLUG tell one story. Apple wants one language per feed, so:

- ``feed.xml`` is the show's feed, in the show's language: it lists what it always listed
  except versions in another language (a show that mixed languages in one feed keeps
  every item its subscribers have);
- ``feed-<LANG>.xml`` (``feed-en-US.xml``) is made for each other language a version is in,
  and lists every episode in that language, originals too.

Pure functions over light records: the feed and the pages ask them, nothing is stored.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from ..store.record import EpisodeRecord

MAIN_FEED = "feed.xml"
_LANGUAGE_FEED = re.compile(r"^feed-([a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*)\.xml$")


def story(record: EpisodeRecord) -> str:
    """What the versions of one episode share: the original's slug."""
    return record.translation_of or record.slug


def same_language(one: str, other: str) -> bool:
    return one.lower() == other.lower()


def versions_of(record: EpisodeRecord, records: Sequence[EpisodeRecord]
                ) -> list[EpisodeRecord]:
    """The other languages' versions of ``record`` among ``records`` (the listed ones), one
    per language (the newest), in the order ``records`` has them."""
    mine = story(record)
    found: dict[str, EpisodeRecord] = {}
    for other in records:
        if other.slug == record.slug or story(other) != mine:
            continue
        if same_language(other.language, record.language):
            continue
        found.setdefault(other.language.lower(), other)
    return list(found.values())


def feed_name(language: str, show_language: str) -> str:
    """The feed an episode in ``language`` belongs to."""
    return MAIN_FEED if same_language(language, show_language) else f"feed-{language}.xml"


def language_of_feed(name: str) -> str | None:
    """``en-US`` for ``feed-en-US.xml``; None for any other name."""
    match = _LANGUAGE_FEED.match(name)
    return match.group(1) if match else None


def in_main_feed(record: EpisodeRecord, show_language: str) -> bool:
    """Everything but versions in another language than the show's."""
    return record.translation_of is None or same_language(record.language, show_language)


def feed_languages(records: Sequence[EpisodeRecord], show_language: str,
                   existing: Sequence[str] = ()) -> list[str]:
    """The languages with a feed of their own: those a listed version is in (not the
    show's), and those whose feed file already exists (``existing``: its versions were
    all taken away, and its subscribers must see that)."""
    found: dict[str, str] = {}
    for language in [*(r.language for r in records if r.translation_of), *existing]:
        if not same_language(language, show_language):
            found.setdefault(language.lower(), language)
    return sorted(found.values(), key=str.lower)


def episodes_in(language: str, records: Sequence[EpisodeRecord]) -> list[EpisodeRecord]:
    return [r for r in records if same_language(r.language, language)]


def language_guid(show_guid: str, language: str) -> str:
    """A language feed's podcast:guid: made from the show's own (UUIDv5 with the show's
    guid as namespace), so it is as stable as the show's identity: a base_url move changes
    neither."""
    return str(uuid.uuid5(uuid.UUID(show_guid), language.lower()))


def feed_of(record: EpisodeRecord, records: Sequence[EpisodeRecord], show_language: str
            ) -> str:
    """The feed an episode's page points at: its language's feed when the show has one,
    else ``feed.xml``."""
    if in_main_feed(record, show_language) and not any(
            same_language(record.language, language)
            for language in feed_languages(records, show_language)):
        return MAIN_FEED
    return feed_name(record.language, show_language)
