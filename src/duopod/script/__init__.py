"""Stage 1, the script: a dialogue script file (or an episode page copied as text) becomes
a ``Script``. ``parse_script`` is the entry point; ``import_page`` turns a page into a
script file first.

Names are imported on first use (``duopod check`` needs the parser, not the importer);
type checkers see them imported as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _HOMES)
