"""``duopod verify --fix``: the suggested entries the producer accepted, added to the
show's ``lexicon.toml`` in the table of the episode's language and engine
(``[zh-CN.kokoro]``: the mishearing was that voice's, and an engine table beats the
language table, so an existing ``[zh-CN]`` entry is overridden for this engine only).

The file is edited as text, so the producer's comments and layout stay: each line goes
at the end of its table (a new table at the end of the file if there is none). An entry
the table already has is never replaced (that is the producer's line to change); the
result must parse and give the new entries before it is written, atomically.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files import write_atomically
from ..speech.lexicon import LEXICON_FILE
from .episode import LexiconLine

__all__ = ["LexiconEdit", "add_to_lexicon"]

_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(?:#.*)?$")


@dataclass(frozen=True)
class LexiconEdit:
    path: Path
    added: tuple[LexiconLine, ...]
    kept: tuple[tuple[LexiconLine, str], ...]
    """Lines not added, with why (the table has the term already)."""


def _table_name(header: str) -> tuple[str, ...]:
    parts = re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', header)
    return tuple(p.strip().strip("\"'") for p in parts)


def _table(data: dict[str, Any], name: tuple[str, ...]) -> dict[str, Any]:
    for part in name:
        found = data.get(part)
        if not isinstance(found, dict):
            return {}
        data = found
    return data


def _insert(lines: list[str], name: tuple[str, ...], new: list[str]) -> list[str]:
    """``lines`` with ``new`` at the end of table ``name`` (after its last non-blank line),
    or in a new table at the end."""
    start = next((i for i, line in enumerate(lines)
                  if (m := _HEADER.match(line)) and _table_name(m.group(1)) == name), None)
    if start is None:
        tail = [""] if lines and lines[-1].strip() else []
        return [*lines, *tail, f"[{'.'.join(name)}]  # added by duopod verify --fix", *new]
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])),
               len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return [*lines[:end], *new, *lines[end:]]


def add_to_lexicon(root: Path, accepted: Sequence[LexiconLine]) -> LexiconEdit:
    path = root / LEXICON_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML, not edited: {exc}", path) from None
    lines = text.splitlines()
    added: list[LexiconLine] = []
    kept: list[tuple[LexiconLine, str]] = []
    for line in accepted:
        name = (line.language, line.engine)
        if line.spoken is None:
            kept.append((line, "no suggestion to add: write the entry yourself"))
        elif line.term in _table(data, name) or any(
                a.term == line.term and a.table == line.table for a in added):
            kept.append((line, f"[{line.table}] has {line.term!r} already: edit it yourself"))
        else:
            lines = _insert(lines, name, [line.toml()])
            added.append(line)
    if not added:
        return LexiconEdit(path, (), tuple(kept))
    result = "\n".join(lines) + "\n"
    check = tomllib.loads(result)  # our own edit must parse and say what it was meant to
    for line in added:
        if _table(check, (line.language, line.engine)).get(line.term) != line.spoken:
            raise InputError(f"could not add {line.term!r} to [{line.table}] cleanly, "
                             "not edited", path)
    write_atomically(path, result.encode("utf-8"))
    return LexiconEdit(path, tuple(added), tuple(kept))
