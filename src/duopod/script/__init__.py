"""Stage 1, the script: a dialogue script file (or an episode page copied as text) becomes
a ``Script``. ``parse_script`` is the entry point; ``import_page`` turns a page into a
script file first."""

from .importer import ImportResult, import_page
from .model import EpisodeMeta, Lifecycle, Script, Section, Source, Turn
from .parse import Overrides, parse_script

__all__ = ["EpisodeMeta", "ImportResult", "Lifecycle", "Overrides", "Script", "Section",
           "Source", "Turn", "import_page", "parse_script"]
