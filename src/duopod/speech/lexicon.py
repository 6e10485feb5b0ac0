"""The pronunciation lexicon: written form -> what an engine is asked to say.

No engine reads a Mandarin tech show right unaided ("H20", "671B", "DeepSeek", polyphones),
so a show keeps ``lexicon.toml`` at its root and a script may add a ``lexicon:`` mapping in
its front matter. Both have the same shape: strings at the top apply to every language and
engine, a table named after a language tag applies to that language, and a table inside it
named after an engine applies to that engine only::

    "DeepSeek" = "深度求索"
    [zh-CN]
    "H20" = "H二十"
    [zh-CN.espeak]
    "671B" = "六七一B"

The lexicon changes only what the engine hears; the render stage keeps the written
sentences for transcripts, pages and notes, and keys its cache on the spoken text, so a
changed entry re-renders exactly the turns it touches.

Precedence: a script entry beats a show entry for the same written form (the script is the
producer's word for this episode); within one source an engine table beats a language
table, which beats the top level. Matching is case-sensitive and longest-first; an entry
that starts or ends with a Latin letter or digit only matches at a word boundary there, so
"H20" is not found inside "H200".
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..show.toml import load_toml, parse_toml

if TYPE_CHECKING:
    from ..disk.owned import Owned, ProducerFiles
    from ..script.model import Script
    from ..show.workspace import Workspace

LEXICON_FILE = "lexicon.toml"
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_LATIN = re.compile(r"[A-Za-z0-9]")
SHOW, SCRIPT = 0, 1
"""Sources, in rising precedence."""


@dataclass(frozen=True)
class Entry:
    """One line of a lexicon."""

    written: str
    spoken: str
    language: str | None
    engine: str | None
    source: int
    """SHOW or SCRIPT."""
    path: Path
    line: int | None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    @property
    def scope(self) -> str:
        """Where the entry applies, as the producer wrote it: '', 'zh-CN', 'zh-CN.espeak'."""
        return ".".join(part for part in (self.language, self.engine) if part)

    def applies(self, language: str, engine: str | None) -> bool:
        """Does this entry speak for ``language`` (an entry for "zh" serves "zh-CN") and
        ``engine`` (None: only entries that serve every engine)?"""
        if self.language is not None:
            own, asked = self.language.lower(), language.lower()
            if asked != own and not asked.startswith(own + "-"):
                return False
        return self.engine is None or self.engine == engine

    def rank(self) -> tuple[int, int, int]:
        """Higher wins: source first, then engine over language over the top level (and a
        longer language tag over a shorter one)."""
        return (self.source, self.engine is not None,
                len(self.language) if self.language else 0)


# ---------------------------------------------------------------- reading


def load_show_lexicon(place: Path) -> tuple[Entry, ...]:
    """The show's lexicon (``place``: the file, or the show's folder holding
    ``lexicon.toml``), or nothing when there is none."""
    path = place / LEXICON_FILE if place.is_dir() else place
    if not path.is_file():
        return ()
    toml = load_toml(path)
    return tuple(_entries(toml.data, path, SHOW, lambda scope, key: toml.line_of(*scope, key)))


_read: dict[Path, tuple[tuple[int, int], tuple[Entry, ...]]] = {}
_read_lock = threading.Lock()


def show_lexicon(workspace: Workspace) -> tuple[Entry, ...]:
    """The show's lexicon as it is on disk now, read again only when the file changed (its
    size and modification time): the studio asks for it on every keystroke's check."""
    path = workspace.show.lexicon or workspace.root / LEXICON_FILE
    try:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        return ()
    with _read_lock:
        kept = _read.get(path)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    entries = load_show_lexicon(path)
    with _read_lock:
        _read[path] = (stamp, entries)
    return entries


def script_entries(script: Script) -> tuple[Entry, ...]:
    """A script's own ``lexicon:`` entries (the parse stage kept each key's line)."""
    found = script.meta.lexicon
    if found is None:
        return ()
    lines = found.lines
    return tuple(_entries(found.tables, script.path, SCRIPT,
                          lambda scope, key: lines.get((*scope, key))))


def lexicon_entries(workspace: Workspace, script: Script | None = None) -> tuple[Entry, ...]:
    """The show's entries and, given a script, its own (which win); InputError with file
    and line for a bad one."""
    show = show_lexicon(workspace)
    return show if script is None else (*show, *script_entries(script))


def language_of(workspace: Workspace, script: Script | None = None) -> str:
    """The episode's language (front matter), else the show's: what picks language tables."""
    own = script.meta.lifecycle.language if script is not None else None
    return own or workspace.show.language


def script_speller(workspace: Workspace, script: Script, engine: str | None) -> Speller:
    """What a build of ``script`` with ``engine`` asks the engine to say (None: only the
    entries for every engine)."""
    return speller(lexicon_entries(workspace, script), language_of(workspace, script), engine)


LineOf = Callable[[tuple[str, ...], str], int | None]


def _entries(data: Mapping[str, Any], path: Path, source: int,
             line_of: LineOf) -> Iterator[Entry]:
    """Walk the three levels (top, language, engine), checking every key and value."""
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _language_table(key, value, path, source, line_of)
        else:
            yield _entry(key, value, None, None, path, source, line_of((), key))


def _language_table(language: str, table: dict[str, Any], path: Path, source: int,
                    line_of: LineOf) -> Iterator[Entry]:
    if not _LANGUAGE.match(language):
        raise InputError(f"lexicon table [{language}] is not a language tag like zh-CN "
                         "(engine tables go inside one: [zh-CN.espeak])", path,
                         line_of((), language))
    for key, value in table.items():
        if isinstance(value, dict):
            _check_engine(language, key, path, line_of((language,), key))
            for written, spoken in value.items():
                if isinstance(spoken, dict):
                    raise InputError(f"lexicon table [{language}.{key}.{written}] is one level "
                                     "too deep", path, line_of((language, key), written))
                yield _entry(written, spoken, language, key, path, source,
                             line_of((language, key), written))
        else:
            yield _entry(key, value, language, None, path, source, line_of((language,), key))


def _check_engine(language: str, engine: str, path: Path, line: int | None) -> None:
    """A misspelt engine table would silently never apply: refuse it."""
    from .engines import registry

    if engine not in registry():
        raise InputError(f"lexicon table [{language}.{engine}]: {engine!r} is not an engine "
                         f"(engines: {', '.join(registry())})", path, line)


def _entry(written: str, spoken: Any, language: str | None, engine: str | None, path: Path,
           source: int, line: int | None) -> Entry:
    scope = ".".join(p for p in (language, engine) if p)
    where = f" in [{scope}]" if scope else ""
    if not written.strip():
        raise InputError(f"empty word in the lexicon{where}", path, line)
    if not isinstance(spoken, str):
        raise InputError(f"lexicon entry {written!r}{where} must be a string (the spoken "
                         f"form), not {type(spoken).__name__}", path, line)
    if not spoken.strip():
        raise InputError(f"lexicon entry {written!r}{where} has an empty spoken form",
                         path, line)
    return Entry(written, spoken, language, engine, source, path, line)


# ---------------------------------------------------------------- speaking


class Speller:
    """A lexicon compiled for one language and engine: rewrites text for the engine and
    counts which entries fired."""

    def __init__(self, entries: Iterable[Entry]):
        chosen: dict[str, Entry] = {}
        for entry in sorted(entries, key=Entry.rank):
            chosen[entry.written] = entry  # higher ranks come later and win
        self.entries = chosen
        lengths: dict[str, set[int]] = {}
        for written in chosen:
            lengths.setdefault(written[0], set()).add(len(written))
        self._lengths = {first: sorted(found, reverse=True) for first, found in lengths.items()}
        """For each first character, the lengths of the entries starting with it, longest
        first: a lookup per position and length, not a regex alternation of every entry
        (which tried all 10,000 entries at each character: minutes for a long script)."""

    def __bool__(self) -> bool:
        return bool(self.entries)

    def _matches(self, text: str) -> Iterator[tuple[int, int, Entry]]:
        """(start, end, entry) of each match, left to right, the longest at each place; an
        entry starting or ending with a Latin letter or digit only at a word boundary."""
        position, size = 0, len(text)
        while position < size:
            for length in self._lengths.get(text[position], ()):
                end = position + length
                entry = self.entries.get(text[position:end]) if end <= size else None
                if entry is not None and _bounded(text, position, end):
                    yield position, end, entry
                    position = end
                    break
            else:
                position += 1

    def say(self, text: str) -> str:
        """What the engine is asked to say for ``text``."""
        pieces, last = [], 0
        for start, end, entry in self._matches(text):
            pieces += [text[last:start], entry.spoken]
            last = end
        return "".join(pieces) + text[last:] if pieces else text

    def blanked(self, text: str, fill: str = " ") -> str:
        """``text`` with every match replaced by ``fill``: what no entry covers."""
        pieces, last = [], 0
        for start, end, _entry in self._matches(text):
            pieces += [text[last:start], fill]
            last = end
        return "".join(pieces) + text[last:] if pieces else text

    def hits(self, texts: Iterable[str]) -> Counter[Entry]:
        """How often each entry fires over ``texts``."""
        counts: Counter[Entry] = Counter()
        for text in texts:
            counts.update(entry for _start, _end, entry in self._matches(text))
        return counts


def _is_latin(character: str) -> bool:
    return bool(_LATIN.match(character))


def _bounded(text: str, start: int, end: int) -> bool:
    """A match that starts (ends) with a Latin letter or digit must not have one just
    before (after) it: "H20" is not found inside "H200"."""
    if _is_latin(text[start]) and start > 0 and _is_latin(text[start - 1]):
        return False
    return not (_is_latin(text[end - 1]) and end < len(text) and _is_latin(text[end]))


def speller(entries: Iterable[Entry], language: str, engine: str | None) -> Speller:
    """The entries that serve ``language`` and ``engine``, compiled. ``engine`` None keeps
    only the entries for every engine."""
    return Speller(e for e in entries if e.applies(language, engine))


def hit_counts(entries: Iterable[Entry], language: str, texts: Iterable[str]
               ) -> list[tuple[Entry, int]]:
    """Which entries fire over ``texts`` and how often, for every engine at once: the
    entries for all engines, then each engine's own (``duopod check``)."""
    entries, texts = list(entries), list(texts)
    counts = Counter(speller(entries, language, None).hits(texts))
    for engine in sorted({e.engine for e in entries if e.engine}):
        for entry, count in speller(entries, language, engine).hits(texts).items():
            if entry.engine:
                counts[entry] = count
    return sorted(counts.items(),
                  key=lambda item: (item[0].engine or "", -item[1], item[0].written))


# ---------------------------------------------------------------- writing


@dataclass(frozen=True)
class Addition:
    """An entry to add to the show's lexicon, in the table it belongs to: ``("zh-CN",)``
    for a language, ``("zh-CN", "kokoro")`` for one engine in it."""

    table: tuple[str, ...]
    written: str
    spoken: str

    @property
    def name(self) -> str:
        return ".".join(self.table)


@dataclass(frozen=True)
class LexiconEdit:
    path: Path
    added: tuple[Addition, ...]
    kept: tuple[tuple[Addition, str], ...]
    """Entries not added, with why (the table has the word already)."""


def add_lexicon_entries(files: ProducerFiles, path: Path, additions: Iterable[Addition], *,
                        new_table_note: str = "") -> LexiconEdit:
    """Add entries to the show's lexicon ``path`` through the producer's door ``files``:
    under the file's lock, on the file as it is now, so concurrent additions all land.

    The file is edited as text, so the producer's comments and layout stay: each line
    goes right under its table's header (the TOML parser says where that is), a table
    the file lacks is added at the end (with ``new_table_note`` as its comment). An entry
    the table already has is never replaced (that line is the producer's to change). The
    result must parse and give the new entries, else nothing is written."""
    wanted = tuple(additions)
    for addition in wanted:
        if not addition.written.strip() or not addition.spoken.strip() or \
                "\n" in addition.written + addition.spoken:
            raise InputError("a lexicon entry needs a written and a spoken form, one line each")
    done: list[LexiconEdit] = []

    def change(owned: Owned) -> bytes | None:
        edit, text = _edited(owned.text, path, wanted, new_table_note)
        done.append(edit)
        return text.encode("utf-8") if edit.added else None

    files.update(path, change)
    return done[-1]


def _edited(text: str, path: Path, wanted: tuple[Addition, ...], note: str
            ) -> tuple[LexiconEdit, str]:
    toml = parse_toml(text, path)
    added: list[Addition] = []
    kept: list[tuple[Addition, str]] = []
    for addition in wanted:
        there = _table_of(toml.data, addition.table).get(addition.written)
        if there is not None or any(a.table == addition.table and a.written ==
                                    addition.written for a in added):
            line = toml.line_of(*addition.table, addition.written)
            at = f" (line {line})" if there is not None and line else ""
            kept.append((addition, f"[{addition.name}] has {addition.written!r} already{at}: "
                                   "edit it there"))
        else:
            added.append(addition)
    if not added:
        return LexiconEdit(path, (), tuple(kept)), text
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    appended: list[str] = []
    inserts: dict[int, list[str]] = {}
    for table in dict.fromkeys(a.table for a in added):
        entries = [_toml_line(a) for a in added if a.table == table]
        end = toml.table_header(*table)
        if end is None:
            header = ".".join(_toml_key(part) for part in table)
            appended += ["", f"[{header}]" + (f"  # {note}" if note else ""), *entries]
        else:
            inserts.setdefault(end, []).extend(entries)
    for end in sorted(inserts, reverse=True):
        lines[end:end] = inserts[end]
    result = "\n".join([*lines, *appended]) + "\n"
    check = parse_toml(result, path).data
    for addition in added:
        if _table_of(check, addition.table).get(addition.written) != addition.spoken:
            raise InputError(f"could not add {addition.written!r} to [{addition.name}] "
                             "cleanly: lexicon.toml not edited", path)
    return LexiconEdit(path, tuple(added), tuple(kept)), result


def _table_of(data: Mapping[str, Any], table: tuple[str, ...]) -> Mapping[str, Any]:
    for part in table:
        found = data.get(part)
        if not isinstance(found, dict):
            return {}
        data = found
    return data


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(name: str) -> str:
    return name if _BARE.match(name) else _toml_string(name)


def _toml_string(text: str) -> str:
    """A TOML basic string: quote, backslash and control characters escaped."""
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else
                      "\\" + c if c in "\"\\" else c for c in text)
    return f'"{escaped}"'


def _toml_line(addition: Addition) -> str:
    return f"{_toml_string(addition.written)} = {_toml_string(addition.spoken)}"
