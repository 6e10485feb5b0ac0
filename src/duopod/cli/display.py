"""The terminal boundary: every message duopod prints goes through here, so text that comes
from a producer or a server (titles, host names, paths, error messages) is never read as
rich markup. A script titled ``测试 [/x] 标题`` prints as written instead of crashing the
command.

``styled`` takes a template whose markup is duopod's own and values that are escaped once;
``plain`` prints text with no markup at all.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

__all__ = ["err", "escape", "notice", "out", "plain", "styled", "text"]

out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def styled(console: Console, template: str, /, **values: Any) -> None:
    """Print ``template`` (duopod's markup) with ``values`` escaped into it."""
    console.print(template.format(**{k: escape(str(v)) for k, v in values.items()}),
                  markup=True, highlight=False)


def plain(console: Console, message: str) -> None:
    """Print ``message`` as it is: no markup, no highlighting."""
    console.print(message, markup=False, highlight=False, soft_wrap=True)


def text(value: object, style: str = "") -> Text:
    """A table cell or a renderable that shows ``value`` literally."""
    return Text(str(value), style=style)


def notice(message: str) -> None:
    """A note beside the output (an engine passed over, --jobs above what helps)."""
    styled(err, "[yellow]note:[/yellow] {message}", message=message)
