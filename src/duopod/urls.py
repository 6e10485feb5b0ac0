"""Addresses as duopod prints them: a password or token in a URL's user part never reaches
a terminal, a log or an error message (``redis://:secret@host`` prints as
``redis://:***@host``)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact_url"]


def redact_url(url: str) -> str:
    """``url`` with any password (or a lone user token) in it replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an address that cannot be parsed)"
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url
    user, colon, _secret = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{hostport}"))
