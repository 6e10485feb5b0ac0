"""Writes the show's feeds in other languages (``feed-en-US.xml``, see ``versions``) beside
``feed.xml``, each whole, every time ``feed.xml`` is written."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..disk.atomic import write_atomically
from ..show.workspace import ShowConfig
from .feed import ArtSize, build_feed
from ..store.record import EpisodeRecord
from .versions import feed_languages, feed_name, language_of_feed


def write_language_feeds(folder: Path, show: ShowConfig, listed: list[EpisodeRecord],
                         guid: str, art: Sequence[ArtSize] = ()) -> list[Path]:
    """One feed per language a listed version is in, and again each language feed already
    in ``folder`` (its last version taken away: its subscribers see the change); the
    files written."""
    existing = [language for path in sorted(folder.glob("feed-*.xml"))
                if (language := language_of_feed(path.name)) is not None]
    written = []
    for language in feed_languages(listed, show.language, existing):
        path = folder / feed_name(language, show.language)
        write_atomically(path, build_feed(show, listed, guid=guid, language=language,
                                          art=art))
        written.append(path)
    return written
