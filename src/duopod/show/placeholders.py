"""What ``duopod init`` fills in for the producer to replace, and how to tell it is still
there: the example base URL and owner address, the starter episode summary, the starter
cover. A show carrying one builds and previews as usual; publishing it to the feed warns
(``publish.placeholder_problems``), since a feed once fetched by an app keeps what it said.

The values live here, on the floor, so that the starter writes them and the publisher
finds them from one list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .workspace import SHOW_FILE, ShowConfig

__all__ = [
    "EXAMPLE_BASE_URL",
    "EXAMPLE_EMAIL",
    "PLACEHOLDER_SUMMARIES",
    "STARTER_COVER_SHA256",
    "Placeholder",
    "is_placeholder_summary",
    "show_placeholders",
]

EXAMPLE_BASE_URL = "https://podcast.example.com"
EXAMPLE_EMAIL = "producer@example.com"
PLACEHOLDER_SUMMARIES = {"zh": "一句话简介。", "en": "One line about the episode."}
"""The summary ``duopod new`` and ``init`` put in a script, by language."""
STARTER_COVER_SHA256 = "8449d334271abfaf59b2a45ca4cf645b20556203d9637c631a4c7facacda4556"
"""The cover ``init`` draws (``starter.cover.cover_png``); a test keeps the two in step."""
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "example")
"""RFC 2606's names reserved for examples: never a real host or mailbox."""


@dataclass(frozen=True)
class Placeholder:
    """One placeholder value still in the show, and where to change it."""

    field: str
    value: str
    path: Path

    def message(self) -> str:
        if self.field == "cover":
            return (f"cover {self.value} is still the starter cover duopod init drew: "
                    "replace it with the show's own art")
        if self.field == "summary":
            return (f"summary is still the placeholder {self.value!r}: write the episode's "
                    f"own in {self.path.name}'s front matter")
        return (f"{self.field} is still the placeholder {self.value!r}: set your own in "
                f"{self.path.name}")


def _is_example_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in _EXAMPLE_DOMAINS)


def is_placeholder_summary(summary: str | None) -> bool:
    return (summary or "").strip() in PLACEHOLDER_SUMMARIES.values()


def show_placeholders(show: ShowConfig, root: Path) -> list[Placeholder]:
    """The placeholders ``show`` (read from ``root``/show.toml) still carries."""
    toml = root / SHOW_FILE
    found: list[Placeholder] = []
    if _is_example_host(urlsplit(show.base_url).hostname or ""):
        found.append(Placeholder("base_url", show.base_url, toml))
    if show.email and _is_example_host(show.email.rpartition("@")[2]):
        found.append(Placeholder("email", show.email, toml))
    if show.cover is not None and show.cover.is_file():
        digest = hashlib.sha256(show.cover.read_bytes()).hexdigest()
        if digest == STARTER_COVER_SHA256:
            shown = show.cover.relative_to(root) if show.cover.is_relative_to(root) \
                else show.cover
            found.append(Placeholder("cover", str(shown), show.cover))
    return found
