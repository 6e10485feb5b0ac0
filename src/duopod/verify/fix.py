"""``duopod verify --fix``: the suggested entries the producer accepted, added to the
show's ``lexicon.toml`` in the table of the episode's language and engine
(``[zh-CN.kokoro]``: the mishearing was that voice's, and an engine table beats the
language table, so an existing ``[zh-CN]`` entry is overridden for this engine only).

The lexicon is edited by ``speech.lexicon.add_lexicon_entries``, through the producer's
door: comments and layout stay, an entry the table already has is never replaced, and the
result must parse and give the new entries before it is written, atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..show.workspace import show_files
from ..speech.lexicon import LEXICON_FILE, Addition, add_lexicon_entries
from .episode import LexiconLine

__all__ = ["LexiconEdit", "add_to_lexicon"]



@dataclass(frozen=True)
class LexiconEdit:
    path: Path
    added: tuple[LexiconLine, ...]
    kept: tuple[tuple[LexiconLine, str], ...]
    """Lines not added, with why (the table has the term already)."""


def add_to_lexicon(root: Path, accepted: Sequence[LexiconLine], *,
                   lexicon: Path | None = None) -> LexiconEdit:
    """Add the accepted lines to the show in ``root``'s lexicon (``lexicon``: its path when
    show.toml names another than ``lexicon.toml``)."""
    path = lexicon or root / LEXICON_FILE
    wanted = {line: Addition((line.language, line.engine), line.term, line.spoken)
              for line in accepted if line.spoken is not None}
    edit = add_lexicon_entries(show_files(root), path, wanted.values(),
                               new_table_note="added by duopod verify --fix")
    lines = {addition: line for line, addition in wanted.items()}
    kept = [(line, "no suggestion to add: write the entry yourself")
            for line in accepted if line.spoken is None]
    kept += [(lines[addition], why) for addition, why in edit.kept]
    return LexiconEdit(path, tuple(lines[a] for a in edit.added), tuple(kept))
