"""Reading a producer's TOML files (``show.toml``, the voice profiles, ``lexicon.toml``):
the values from the standard library's ``tomllib``, every key's line from a second parser,
tree-sitter's TOML grammar, which keeps positions (tomllib keeps none).

Both are parsers of the same text: tomllib decides what the file means and refuses what is
not TOML (its message names the line); tree-sitter's syntax tree says where each table
header, array-of-tables entry and key stands, so an error about a value names the line the
producer wrote it on. Lines are worked out the first time one is asked for, once per file,
in one pass over the tree (a 10,000-entry lexicon takes about as long as tomllib's parse),
so a file without mistakes costs tomllib's parse alone.

Why tree-sitter: it is maintained, fast (C), ships wheels for every platform duopod runs
on, and gives exact positions for the whole TOML grammar (multi-line strings and arrays,
dotted and quoted keys, inline tables, arrays of tables), which a scan of the text for
header-like lines could not.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = ["KeyPath", "TomlFile", "load_toml", "parse_toml"]

KeyPath = tuple[str | int, ...]
"""A place in a TOML document: table names, keys, and an index into an array of tables
(``("txt", 1, "text")`` is the ``text`` of the second ``[[txt]]``)."""

_ERROR_LINE = re.compile(r"at line (\d+)")


@dataclass
class TomlFile:
    """One TOML file: its ``data`` as tomllib read it, and where each key stands."""

    path: Path
    text: str
    data: dict[str, Any]
    _index: _Index | None = field(default=None, repr=False)

    @property
    def index(self) -> _Index:
        if self._index is None:
            self._index = _index(self.text)
        return self._index

    def line_of(self, *keys: str | int) -> int | None:
        """The line ``keys`` was written on; for a place not written as such (a default,
        an implicit table), the line of the nearest enclosing one; None for the top."""
        place: KeyPath = tuple(keys)
        while place:
            found = self.index.lines.get(place)
            if found is not None:
                return found
            place = place[:-1]
        return None

    def table_header(self, *keys: str) -> int | None:
        """The line of the header ``[keys]``; None when the file has no such header."""
        return self.index.headers.get(tuple(keys))


def load_toml(path: Path) -> TomlFile:
    """Read and parse ``path``; InputError (file and line) when it is not UTF-8 TOML."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8", path) from None
    return parse_toml(text, path)


def parse_toml(text: str, path: Path) -> TomlFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _ERROR_LINE.search(str(exc))
        raise InputError(f"invalid TOML: {exc}", path,
                         int(match.group(1)) if match else None) from None
    return TomlFile(path, text, data)


# ---------------------------------------------------------------- positions


@cache
def _parser() -> Parser:
    from tree_sitter import Language, Parser
    from tree_sitter_toml import language

    return Parser(Language(language()))


@dataclass
class _Index:
    lines: dict[KeyPath, int] = field(default_factory=dict)
    """Every key path of the document with its (1-based) line, first occurrence kept."""
    headers: dict[KeyPath, int] = field(default_factory=dict)
    """The line of each ``[table]`` header."""


def _index(text: str) -> _Index:
    source = text.encode("utf-8")
    tree = _parser().parse(source)
    index = _Index()
    lines = index.lines
    arrays: dict[KeyPath, int] = {}
    for node in tree.root_node.children:
        if node.type == "pair":
            _pairs(node, (), source, lines)
        elif node.type in ("table", "table_array_element"):
            header = _header_key(node)
            if header is None:
                continue
            place: KeyPath = _key_path(header, source)
            for depth in range(1, len(place)):  # [deploy.cdn] also places deploy
                _remember(lines, place[:depth], node)
            if node.type == "table_array_element":
                number = arrays.get(place, 0)
                arrays[place] = number + 1
                _remember(lines, place, node)
                place = (*place, number)
            _remember(lines, place, node)
            if node.type == "table":
                _remember(index.headers, place, node)
            for child in node.children:
                if child.type == "pair":
                    _pairs(child, place, source, lines)
    return index


def _pairs(pair: Node, table: KeyPath, source: bytes, lines: dict[KeyPath, int]) -> None:
    key = next((c for c in pair.children if c.type.endswith("key")), None)
    if key is None:
        return
    place = (*table, *_key_path(key, source))
    for depth in range(len(table) + 1, len(place) + 1):  # a.b.c = 1 also places a and a.b
        _remember(lines, place[:depth], pair)
    value = pair.children[-1] if pair.children else None
    if value is not None and value.type == "inline_table":
        for child in value.children:
            if child.type == "pair":
                _pairs(child, place, source, lines)


def _remember(lines: dict[KeyPath, int], place: KeyPath, node: Node) -> None:
    lines.setdefault(place, node.start_point[0] + 1)


def _header_key(node: Node) -> Node | None:
    return next((c for c in node.children if c.type.endswith("key")), None)


def _key_path(node: Node, source: bytes) -> tuple[str, ...]:
    return tuple(_key_parts(node, source))


def _key_parts(node: Node, source: bytes) -> Iterator[str]:
    if node.type == "dotted_key":
        for child in node.children:
            if child.type != ".":
                yield from _key_parts(child, source)
        return
    raw = source[node.start_byte:node.end_byte].decode("utf-8")
    yield _unquoted(raw) if node.type == "quoted_key" else raw


def _unquoted(raw: str) -> str:
    """A quoted key's name, escapes and all, as tomllib reads it."""
    try:
        value = tomllib.loads(f"k = {raw}")["k"]
    except tomllib.TOMLDecodeError:
        return raw.strip("\"'")
    return str(value)
