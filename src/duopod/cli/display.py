"""The terminal boundary: every message duopod prints goes through here, so text that comes
from a producer or a server (titles, host names, paths, error messages) is never read as
rich markup. A script titled ``测试 [/x] 标题`` prints as written instead of crashing the
command.

``styled`` takes a template whose markup is duopod's own and values that are escaped once;
``plain`` prints text with no markup at all. Both show control characters (a terminal's
escape sequences in a file name, a title or a server's message) and bidirectional
overrides as visible escapes (``\x1b``), so no text can move the cursor, retitle the
window or reorder what the producer reads.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

__all__ = ["err", "escape", "notice", "out", "plain", "printable", "styled", "text"]

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def printable(message: str) -> str:
    """``message`` with control characters (tabs and line ends kept) and bidirectional
    overrides shown as escapes; text that is not valid Unicode (a file name's stray
    byte) as ``\\xff`` too."""
    shown = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"),
                         message)
    return shown.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def styled(console: Console, template: str, /, **values: Any) -> None:
    """Print ``template`` (duopod's markup) with ``values`` escaped into it."""
    console.print(template.format(**{k: escape(printable(str(v))) for k, v in values.items()}),
                  markup=True, highlight=False)


def plain(console: Console, message: str) -> None:
    """Print ``message`` as it is: no markup, no highlighting, no control characters."""
    console.print(printable(message), markup=False, highlight=False, soft_wrap=True)


def text(value: object, style: str = "") -> Text:
    """A table cell or a renderable that shows ``value`` literally."""
    return Text(printable(str(value)), style=style)


def notice(message: str) -> None:
    """A note beside the output (an engine passed over, --jobs above what helps)."""
    styled(err, "[yellow]note:[/yellow] {message}", message=message)
