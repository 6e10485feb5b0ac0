"""Stage 1, the script: a dialogue script file (or an episode page copied as text) becomes
a ``Script``. ``parse_script`` is the entry point; ``import_page`` turns a page into a
script file first.

Names are imported on first use (``duopod check`` needs the parser, not the importer);
type checkers see them imported as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .importer import ImportResult, import_page
    from .model import EpisodeMeta, Lifecycle, Script, Section, Source, Turn
    from .parse import Overrides, parse_script

__all__ = ["EpisodeMeta", "ImportResult", "Lifecycle", "Overrides", "Script", "Section",
           "Source", "Turn", "import_page", "parse_script"]

_HOMES = {
    "ImportResult": "importer", "import_page": "importer", "Overrides": "parse",
    "parse_script": "parse", **dict.fromkeys(
        ["EpisodeMeta", "Lifecycle", "Script", "Section", "Source", "Turn"], "model"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
