"""The RSS 2.0 feed (itunes, podcast, content and atom namespaces), built from the
``episode.json`` files alone: publishing never re-reads an MP3."""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace
from email.utils import format_datetime

from ..disk.atomic import content_name
from ..show.workspace import ShowConfig
from ..store.kept import KeptItem
from ..store.record import EpisodeRecord, Rendition
from .versions import (
    episodes_in,
    feed_languages,
    feed_name,
    in_main_feed,
    language_guid,
    same_language,
    versions_of,
)

NAMESPACES = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "atom": "http://www.w3.org/2005/Atom",
}
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)

AI_CONTENT = "ai-content"
"""podcast:txt's purpose for the AI-content disclosure (the namespace's txt.md, 2026-03):
``true`` when AI-generated content was used to make the episode; on the channel, true
when any listed episode's is."""
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def _q(prefix: str, name: str) -> str:
    return f"{{{NAMESPACES[prefix]}}}{name}"


def feed_url(show: ShowConfig, base_url: str | None = None) -> str:
    return f"{base_url or show.base_url}/feed.xml"


def podcast_guid(url: str) -> str:
    """podcast:guid: UUIDv5 of the feed URL without its scheme and trailing slashes."""
    bare = url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def pub_date(published: dt.datetime) -> str:
    return format_datetime(published)


def _sub(parent: ET.Element, tag: str, content: str | None = None, **attrs: str
         ) -> ET.Element:
    """A child element with text ``content`` and attributes ``attrs`` (``text=`` is an
    attribute, as itunes:category wants)."""
    element = ET.SubElement(parent, tag, attrs)
    if content is not None:
        element.text = content
    return element


def build_feed(show: ShowConfig, episodes: list[EpisodeRecord], base_url: str | None = None,
               guid: str | None = None, kept: Sequence[KeptItem] = (),
               language: str | None = None, art: Sequence[ArtSize] = ()) -> bytes:
    """The feed XML for ``episodes`` (their records: those listed now), newest first.
    ``guid`` is the show's podcast:guid as first published (see ``show_guid``); the
    ``kept`` items of the current feed are copied in verbatim at their dates (see
    ``kept``). ``language``: the feed of the show's episodes in that language (see
    ``versions``; None: the show's own, ``feed.xml``); ``art``: the cover's sizes."""
    base = (base_url or show.base_url).rstrip("/")
    show_guid = guid or show.guid or podcast_guid(feed_url(show))
    own = language is None or same_language(language, show.language)
    feed_language = show.language if language is None else language
    items = ([e for e in episodes if in_main_feed(e, show.language)] if own
             else _numbered_as_originals(episodes_in(feed_language, episodes), episodes))
    titles = show.feed.language_feed(feed_language)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _sub(rss, "channel")
    _sub(channel, "title", show.title if own else titles.title or
         f"{show.title} ({feed_language})")
    _sub(channel, "link", f"{base}/")
    _sub(channel, "description", show.description if own else titles.description or
         show.description)
    _sub(channel, "language", feed_language)
    _sub(channel, "generator", "duopod")
    if items:
        _sub(channel, "lastBuildDate", pub_date(items[0].published))
    _sub(channel, _q("atom", "link"), href=f"{base}/{feed_name(feed_language, show.language)}",
         rel="self", type="application/rss+xml")
    _feed_links(channel, show, episodes, base, feed_language)
    for hub in show.hubs:  # WebSub: apps may subscribe to the hub the deploy pings
        _sub(channel, _q("atom", "link"), href=hub, rel="hub")
    _sub(channel, _q("itunes", "author"), show.author)
    owner = _sub(channel, _q("itunes", "owner"))
    _sub(owner, _q("itunes", "name"), show.author)
    if show.email:
        _sub(owner, _q("itunes", "email"), show.email)
    if show.copyright:
        _sub(channel, "copyright", show.copyright)
    if show.cover is not None:
        cover_url = f"{base}/{content_name(show.cover)}"
        _sub(channel, _q("itunes", "image"), href=cover_url)
        image = _sub(channel, "image")
        _sub(image, "url", cover_url)
        _sub(image, "title", show.title)
        _sub(image, "link", f"{base}/")
        _art_sizes(channel, art, base)
    category = _sub(channel, _q("itunes", "category"), text=show.category)
    if show.subcategory:
        _sub(category, _q("itunes", "category"), text=show.subcategory)
    _sub(channel, _q("itunes", "explicit"), "true" if show.explicit else "false")
    _sub(channel, _q("itunes", "type"), show.show_type)
    _sub(channel, _q("podcast", "guid"), show_guid if own else
         language_guid(show_guid, feed_language))
    locked = {"owner": show.email} if show.email else {}
    _sub(channel, _q("podcast", "locked"), "yes" if show.locked else "no", **locked)
    if show.funding_url:
        _sub(channel, _q("podcast", "funding"), show.funding_text or show.funding_url,
             url=show.funding_url)
    if show.license:
        licence = {"url": show.license_url} if show.license_url else {}
        _sub(channel, _q("podcast", "license"), show.license, **licence)
    _sub(channel, _q("podcast", "medium"), show.medium)
    _listener_tags(channel, show, items, base)
    for host in _hosts(items):
        _sub(channel, _q("podcast", "person"), host, role="host")
    if any(e.ai_content for e in items) and not any(
            line.purpose == AI_CONTENT for line in show.txt):
        _sub(channel, _q("podcast", "txt"), "true", purpose=AI_CONTENT)
    kept = kept if own else ()
    places = _kept_places(items, kept)
    for index, episode in enumerate(items):
        for marker in places.get(index, ()):
            channel.append(ET.Comment(marker))
        _item(channel, episode, base, show.explicit, show.analytics_prefix,
              versions_of(episode, episodes))
    for marker in places.get(len(items), ()):
        channel.append(ET.Comment(marker))
    ET.indent(rss, space=" ")
    # serialising to str and encoding once is several times faster than encoding="utf-8"
    body = ET.tostring(rss, encoding="unicode")
    for number, item in enumerate(kept):  # comments are our own: text escapes "<!--"
        body = body.replace(f"<!--{_KEPT}{number}-->", item.xml, 1)
    return ("<?xml version='1.0' encoding='utf-8'?>\n" + body + "\n").encode("utf-8")


@dataclass(frozen=True)
class ArtSize:
    """One size of the show's cover, a file beside it (``publish.art``)."""

    file: str
    width: int
    height: int
    mime: str


def _art_sizes(channel: ET.Element, art: Sequence[ArtSize], base: str) -> None:
    """podcast:image for each size of the cover (the namespace's current tag: href,
    width, height, aspect-ratio, type, purpose), and the deprecated podcast:images
    ``srcset`` it replaced, which apps written against it still read."""
    if len(art) < 2:
        return
    for size in art:
        _sub(channel, _q("podcast", "image"), href=f"{base}/{size.file}", width=str(size.width),
             height=str(size.height), type=size.mime, purpose="artwork",
             **{"aspect-ratio": _ratio(size.width, size.height)})
    srcset = ", ".join(f"{base}/{size.file} {size.width}w" for size in art)
    _sub(channel, _q("podcast", "images"), srcset=srcset)


def _ratio(width: int, height: int) -> str:
    from math import gcd

    common = gcd(width, height) or 1
    return f"{width // common}/{height // common}"


def _numbered_as_originals(items: list[EpisodeRecord], everything: list[EpisodeRecord]
                           ) -> list[EpisodeRecord]:
    """A language feed's versions carry their original's episode number (the show numbers
    every episode it publishes; a listener of one language counts the stories)."""
    numbers = {r.slug: r.number for r in everything if r.translation_of is None}
    return [replace(r, number=numbers[r.translation_of])
            if r.translation_of in numbers else r for r in items]


def _feed_links(channel: ET.Element, show: ShowConfig, episodes: list[EpisodeRecord],
                base: str, language: str) -> None:
    """An atom:link rel="alternate" with ``hreflang`` to each of the show's other feeds."""
    languages = feed_languages(episodes, show.language)
    if not languages:
        return
    for other in [show.language, *languages]:
        if same_language(other, language):
            continue
        titles = show.feed.language_feed(other)
        title = show.title if same_language(other, show.language) else (
            titles.title or f"{show.title} ({other})")
        _sub(channel, _q("atom", "link"), href=f"{base}/{feed_name(other, show.language)}",
             rel="alternate", type="application/rss+xml", hreflang=other, title=title)


_KEPT = "duopod-kept-"


def _kept_places(episodes: list[EpisodeRecord], kept: Sequence[KeptItem]
                 ) -> dict[int, list[str]]:
    """Before which episode (an index; ``len(episodes)``: at the end) each kept item goes,
    as the marker comment standing in for it: by date, newest first."""
    places: dict[int, list[str]] = {}
    for number, item in enumerate(kept):
        index = len(episodes)
        if item.published is not None:
            index = next((i for i, e in enumerate(episodes) if e.published < item.published),
                         len(episodes))
        places.setdefault(index, []).append(f"{_KEPT}{number}")
    return places


def _hosts(episodes: list[EpisodeRecord]) -> list[str]:
    seen: dict[str, None] = {}
    for episode in episodes:
        for host in episode.hosts:
            seen.setdefault(host, None)
    return list(seen)


TRAILER_TITLE_MAX = 128
"""The podcast namespace's limit on podcast:trailer's title."""


def enclosure_url(url: str, prefix: str | None) -> str:
    """``url`` through an analytics prefix (OP3, Podtrac style: the prefix, then the URL
    without its ``https://``; a plain-http URL keeps its scheme so the redirect is right)."""
    if prefix is None:
        return url
    return prefix + (url.removeprefix("https://") if url.startswith("https://") else url)


def _listener_tags(channel: ET.Element, show: ShowConfig, episodes: list[EpisodeRecord],
                   base: str) -> None:
    """podcast:txt, podcast:podroll and podcast:trailer (one per listed trailer episode)."""
    for line in show.txt:
        purpose = {"purpose": line.purpose} if line.purpose else {}
        _sub(channel, _q("podcast", "txt"), line.text, **purpose)
    if show.podroll:
        podroll = _sub(channel, _q("podcast", "podroll"))
        for remote in show.podroll:
            url = {"feedUrl": remote.feed_url} if remote.feed_url else {}
            _sub(podroll, _q("podcast", "remoteItem"), feedGuid=remote.feed_guid, **url)
    for episode in episodes:
        if episode.episode_type != "trailer":
            continue
        audio = episode.audio
        season = {"season": str(episode.season)} if episode.season is not None else {}
        _sub(channel, _q("podcast", "trailer"), episode.title[:TRAILER_TITLE_MAX],
             url=enclosure_url(f"{base}/{episode.slug}/{audio.file}", show.analytics_prefix),
             pubdate=pub_date(episode.published), length=str(audio.bytes), type=audio.mime,
             **season)


def _item(channel: ET.Element, episode: EpisodeRecord, base: str, show_explicit: bool,
          analytics_prefix: str | None = None, versions: Sequence[EpisodeRecord] = ()
          ) -> None:
    folder = f"{base}/{episode.slug}"
    item = _sub(channel, "item")
    _sub(item, "title", episode.title)
    _sub(item, "link", f"{folder}/")
    _sub(item, "guid", episode.guid, isPermaLink="false")
    _sub(item, "pubDate", pub_date(episode.published))
    _sub(item, "description", episode.description)
    _sub(item, _q("content", "encoded"), episode.description_html or episode.description)
    audio = episode.audio
    _sub(item, "enclosure", url=enclosure_url(f"{folder}/{audio.file}", analytics_prefix),
         length=str(audio.bytes),
         type=audio.mime)
    _sub(item, _q("itunes", "title"), episode.title)
    _sub(item, _q("itunes", "duration"), str(round(episode.duration)))
    if episode.number:  # 0: not numbered yet (a draft in the preview feed)
        _sub(item, _q("itunes", "episode"), str(episode.number))
    if episode.season is not None:
        _sub(item, _q("itunes", "season"), str(episode.season))
    _sub(item, _q("itunes", "episodeType"), episode.episode_type)
    explicit = show_explicit if episode.explicit is None else episode.explicit
    _sub(item, _q("itunes", "explicit"), "true" if explicit else "false")
    if episode.image:
        _sub(item, _q("itunes", "image"), href=f"{folder}/{episode.image}")
    for host in episode.hosts:
        _sub(item, _q("podcast", "person"), host, role="host")
    for guest in episode.guests:
        _sub(item, _q("podcast", "person"), guest, role="guest")
    if episode.ai_content:  # the namespace's disclosure, true like itunes:explicit
        _sub(item, _q("podcast", "txt"), "true", purpose=AI_CONTENT)
    for version in (episode, *versions):  # each language's transcripts, this one's first
        _transcripts(item, version, f"{base}/{version.slug}")
    for bite in episode.soundbites:
        _sub(item, _q("podcast", "soundbite"), bite.title, startTime=f"{bite.start:.3f}",
             duration=f"{bite.duration:.3f}")
    if episode.chapters_file:
        _sub(item, _q("podcast", "chapters"), url=f"{folder}/{episode.chapters_file}",
             type="application/json+chapters")
    _alternate_enclosures(item, episode, versions, base, analytics_prefix)


def _transcripts(item: ET.Element, episode: EpisodeRecord, folder: str) -> None:
    files = episode.transcripts
    for name, mime in ((files.vtt, "text/vtt"), (files.srt, "application/x-subrip"),
                       (files.json, "application/json")):
        attrs = {"url": f"{folder}/{name}", "type": mime}
        if episode.language:
            attrs["language"] = episode.language
        _sub(item, _q("podcast", "transcript"), **attrs)


ALTERNATE_TITLE_MAX = 32
"""The namespace asks podcast:alternateEnclosure's ``title`` and ``rel`` to keep to 32
characters."""
LANGUAGE_NAMES = {"en": "English", "zh": "中文", "ja": "日本語", "ko": "한국어",
                  "fr": "Français", "de": "Deutsch", "es": "Español", "pt": "Português",
                  "it": "Italiano", "ru": "Русский", "ar": "العربية", "hi": "हिन्दी"}
"""A version's title in an app's picker: its language in that language (else its tag)."""


def _alternate_enclosures(item: ET.Element, episode: EpisodeRecord,
                          versions: Sequence[EpisodeRecord], base: str,
                          prefix: str | None) -> None:
    """podcast:alternateEnclosure: the MP3 itself (``default``), its low-bandwidth
    renditions, then each other language's version (``lang``, and ``rel`` set to the
    language so a version's MP3 and its renditions are one group), each with a
    podcast:source. Nothing when there is no alternative."""
    if not episode.renditions and not versions:
        return
    _alternate(item, episode, None, base, prefix, default=True)
    for rendition in episode.renditions:
        _alternate(item, episode, rendition, base, prefix)
    for version in versions:
        _alternate(item, version, None, base, prefix, rel=version.language)
        for rendition in version.renditions:
            _alternate(item, version, rendition, base, prefix, rel=version.language)


def _alternate(item: ET.Element, episode: EpisodeRecord, rendition: Rendition | None,
               base: str, prefix: str | None, *, default: bool = False,
               rel: str | None = None) -> None:
    audio = episode.audio
    if rendition is None:
        file, size, mime, codecs = audio.file, audio.bytes, audio.mime, "mp3"
        bitrate = round(audio.bytes * 8 / episode.duration) if episode.duration else 0
        title = (_language_title(episode.language) if rel else "Standard (MP3)")
    else:
        file, size, mime, codecs = (rendition.file, rendition.bytes, rendition.mime,
                                    rendition.codecs)
        bitrate, title = rendition.bitrate, rendition.title
        if rel:  # "中文 (zh-CN), AAC 48k": the title without "Low bandwidth"
            title = f"{_language_title(episode.language)}, " + \
                rendition.title.removeprefix("Low bandwidth (").removesuffix(")")
    attrs = {"type": mime, "length": str(size), "lang": episode.language, "codecs": codecs,
             "title": title[:ALTERNATE_TITLE_MAX]}
    if bitrate:
        attrs["bitrate"] = str(bitrate)
    if rel:
        attrs["rel"] = rel[:ALTERNATE_TITLE_MAX]
    if default:
        attrs["default"] = "true"
    alternate = _sub(item, _q("podcast", "alternateEnclosure"), **attrs)
    url = enclosure_url(f"{base}/{episode.slug}/{file}", prefix)
    _sub(alternate, _q("podcast", "source"), uri=url)


def _language_title(language: str) -> str:
    name = LANGUAGE_NAMES.get(language.split("-")[0].lower())
    return f"{name} ({language})" if name else language


def published_guid(feed: bytes) -> str | None:
    """The podcast:guid a published feed carries, if any (malformed feeds have none)."""
    try:
        root = ET.fromstring(feed)  # noqa: S314 (our own file, written by build_feed)
    except ET.ParseError:
        return None
    found = root.find(f"channel/{_q('podcast', 'guid')}")
    return found.text.strip() if found is not None and found.text else None
