"""Text for Markdown templates (notes.md): a script's words shown as words wherever the
notes are pasted, never as links, images or HTML another host would render live."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

_ENTITIES = {"<": "&lt;", ">": "&gt;"}
"""Raw HTML and autolinks start with '<': as entities they stay text in every renderer,
CommonMark or not."""
_REFERENCE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
"""An '&' that would start a character reference (&amp; &#39;) is written &amp;; any other
'&' is plain text in Markdown and stays as written ('雷总 & 董小姐')."""
_BACKSLASHED = set("\\`*_[]()!|~{}")
"""Inline syntax anywhere in a line: emphasis, code, links and images, tables,
strikethrough, attribute lists. CommonMark lets any ASCII punctuation be backslash-escaped."""
_LINE_START = re.compile(r"^([ \t]*)([#=+-]|[0-9]+\.)", re.MULTILINE)
"""Block syntax that counts only at the start of a line: headings, setext underlines,
list items ('-', '+', '1.'); '>' is already an entity and '*' already escaped."""
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
_URL_SAFE = "/:?#=&;%+,@$!*~.-_"
"""URL characters that end neither a Markdown link destination nor an HTML attribute;
everything else (spaces, quotes, brackets, parentheses, backslash) is percent-encoded."""


class MarkdownSafe(str):
    """Text already fit for Markdown output, which ``markdown_text`` passes through."""


def markdown_text(value: Any) -> str:
    """The template engine's finalize for Markdown: every value printed as literal text."""
    if isinstance(value, MarkdownSafe):
        return str(value)
    text = _REFERENCE.sub("&amp;", str(value))
    text = "".join(_ENTITIES.get(char) or ("\\" + char if char in _BACKSLASHED else char)
                   for char in text)
    return _LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[-1] == ".":  # an ordered list item: '1.' becomes '1\.'
        return f"{indent}{marker[:-1]}\\."
    return f"{indent}\\{marker}"


def http_url(value: Any) -> MarkdownSafe | None:
    """``value`` as a link destination when it is a plain http(s) address with a host name,
    percent-encoded so it cannot close the link or smuggle in markup; None otherwise (the
    template then prints no link at all)."""
    if not isinstance(value, str) or any(c.isspace() or not c.isprintable() for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    prefix = f"{parts.scheme}://{parts.netloc}"
    if (parts.scheme.lower() not in ("http", "https") or not _HOST.match(parts.netloc)
            or not value.lower().startswith(prefix.lower())):
        return None
    rest = value[len(prefix):]
    return MarkdownSafe(f"{parts.scheme.lower()}://{parts.netloc}{quote(rest, safe=_URL_SAFE)}")
