"""Items of the current feed carried over byte for byte.

Podcast apps delete an episode that vanishes from a feed. When an episode cannot be listed
anew (its record cannot be read, its audio is missing or not the size recorded), the new
feed keeps the item the current ``feed.xml`` has for it, exactly as it stands, so
subscribers lose nothing while the producer repairs the folder.

The feed is duopod's own output (ElementTree, one ``<item>`` per episode, no CDATA), so an
item is found as text: ``<item>`` up to the next ``</item>`` (markup inside text is
escaped, so neither can occur there), and the episode's folder is read from the item's
``link`` or enclosure URL.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

_ITEM = re.compile(r"<item>.*?</item>", re.DOTALL)
_LINK = re.compile(r"<link>([^<]*)</link>")
_ENCLOSURE = re.compile(r'<enclosure\b[^>]*\burl="([^"]*)"')
_GUID = re.compile(r"<guid\b[^>]*>([^<]*)</guid>")
_PUB_DATE = re.compile(r"<pubDate>([^<]*)</pubDate>")


@dataclass(frozen=True)
class KeptItem:
    """One ``<item>...</item>`` of the current feed, verbatim."""

    slug: str
    guid: str | None
    published: dt.datetime | None
    xml: str


def _folder_of(url: str, *, file: bool) -> str | None:
    """The episode folder a URL points into: ``.../<slug>/`` or ``.../<slug>/<file>``."""
    parts = html.unescape(url).split("?", 1)[0].split("/")
    if file:
        return parts[-2] if len(parts) >= 2 else None
    return parts[-2] if len(parts) >= 2 and parts[-1] == "" else None


def _slugs(item: str) -> set[str]:
    found = set()
    link = _LINK.search(item)
    if link and (slug := _folder_of(link.group(1), file=False)):
        found.add(slug)
    enclosure = _ENCLOSURE.search(item)
    if enclosure and (slug := _folder_of(enclosure.group(1), file=True)):
        found.add(slug)
    return found


def _published(item: str) -> dt.datetime | None:
    match = _PUB_DATE.search(item)
    if match is None:
        return None
    try:
        when = parsedate_to_datetime(html.unescape(match.group(1)))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def current_items(feed: Path, slugs: set[str]) -> dict[str, KeptItem]:
    """The current feed's items for the episode folders ``slugs``, by folder name."""
    if not slugs:
        return {}
    try:
        text = feed.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    found: dict[str, KeptItem] = {}
    for match in _ITEM.finditer(text):
        item = match.group(0)
        for slug in _slugs(item) & slugs:
            guid = _GUID.search(item)
            found.setdefault(slug, KeptItem(
                slug=slug, guid=html.unescape(guid.group(1)) if guid else None,
                published=_published(item), xml=item))
    return found
