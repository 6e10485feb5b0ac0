"""JSON from a server duopod does not trust, read within bounds and into typed values.

Every JSON answer duopod parses goes through ``read_json`` (the chat engine's completions
and stream events, every error body ``http.error_message`` reads, deploy's lease and
manifest objects, the studio's request bodies), so one place decides what an answer may be
(docs/security.md):

- size: at most ``limit`` bytes (callers pass their own; the default is 16 MiB);
- depth: at most ``MAX_DEPTH`` levels of arrays and objects, counted before the parser
  runs (CPython's parser and anything walking its result recurse: JSON nested 200,000
  deep would otherwise be a ``RecursionError``);
- numbers: finite, and whole numbers of at most ``MAX_DIGITS`` digits (``NaN``,
  ``Infinity`` and ``1e999``, which Python reads as infinity, are refused);
- text: UTF-8.

Anything else is an ``AnswerError``: one line naming the server and what is wrong. The
parsed value is then read through ``Shape``, which checks each part's type as it is taken
(``Shape(data, ...).field("usage").count("prompt_tokens")``) and names the part that is
wrong (``usage is text, not an object``), so a client builds its typed answer (a
dataclass) without an ``AttributeError`` or ``TypeError`` waiting in an odd shape.

The standard library's parser does the parsing; only the bounds are ours (a streaming
parser would bound depth too, but is a dependency for a check this small).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

from .errors import DuopodError

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "AnswerError", "Shape", "nesting", "read_json"]

MAX_DEPTH = 32
"""Arrays and objects within each other: every answer duopod reads needs fewer than 8."""
MAX_DIGITS = 20
"""A whole number longer than this (10**20 and up) is no count, size or time."""
MAX_BYTES = 16 * 1024 * 1024
"""The default size limit; clients pass their own (the chat engine's is 2 MB)."""

_STRING = re.compile(r'"[^"\\]*(?:\\(?:.|\Z)[^"\\]*)*(?:"|\Z)', re.DOTALL)
"""A JSON string, or an unterminated one to the end: one pass, no backtracking."""
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_NOT_BRACKETS = bytes(b for b in range(256) if _STEP[b] == 0)


class AnswerError(DuopodError):
    """A server's answer that is not the JSON expected: ``server: reason`` on one line."""

    def __init__(self, server: str, reason: str, garbled: bool = False) -> None:
        self.server = server
        self.reason = reason
        self.garbled = garbled
        """Not JSON at all (damage in transit, perhaps: worth asking again), rather than
        JSON of the wrong size or shape (the server meant it: asking again will not help)."""
        super().__init__(f"{server}: {reason}" if server else reason)


class _BadNumber(ValueError):
    pass


def nesting(text: str) -> int:
    """How deeply arrays and objects nest in JSON ``text`` (strings skipped); linear."""
    structure = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    brackets = structure.translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(0, max(itertools.accumulate(map(_STEP.__getitem__, brackets))))


def _refuse_constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"the number {text[:40]} is out of range")
    return value


def _whole(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _BadNumber(f"a number of {len(text.lstrip('-'))} digits is out of range")
    return int(text)


def read_json(data: bytes | str, server: str, what: str = "the answer", *,
              limit: int = MAX_BYTES, depth: int = MAX_DEPTH) -> Any:
    """``data`` parsed as JSON within the bounds above; AnswerError naming ``server`` (and
    ``what`` was read: "the answer", "the lease") otherwise."""
    if len(data) > limit:
        raise AnswerError(server, f"{what} is larger than {limit:,} bytes")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AnswerError(server, f"{what} is not UTF-8 text", garbled=True) from None
    else:
        text = data
    levels = nesting(text)
    if levels > depth:
        raise AnswerError(server, f"{what} nests more than {depth} levels deep")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite,
                          parse_int=_whole)
    except _BadNumber as exc:
        raise AnswerError(server, f"{what} is not usable JSON: {exc}") from None
    except ValueError as exc:  # json.JSONDecodeError
        where = f" (line {exc.lineno} column {exc.colno})" \
            if isinstance(exc, json.JSONDecodeError) else ""
        raise AnswerError(server, f"{what} is not JSON{where}", garbled=True) from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


class Shape:
    """One value inside a parsed answer, with where it is (``choices[0].delta``) and whose
    it is, for one-line errors. Each accessor checks the type it returns."""

    def __init__(self, value: Any, server: str, where: str = "the answer") -> None:
        self.value = value
        self.server = server
        self.where = where

    def error(self, expected: str) -> AnswerError:
        return AnswerError(self.server, f"{self.where} is {_kind(self.value)}, not {expected}")

    @property
    def missing(self) -> bool:
        """Absent or null (JSON's two ways of saying nothing)."""
        return self.value is None

    def is_object(self) -> bool:
        return isinstance(self.value, dict)

    def object(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.error("an object")
        return self.value

    def field(self, key: str) -> Shape:
        """The member ``key`` of this object (missing when absent)."""
        return Shape(self.object().get(key), self.server, f"{self.where}.{key}")

    def items(self, optional: bool = True) -> list[Shape]:
        """The elements of this list (none when missing and ``optional``)."""
        if self.value is None and optional:
            return []
        if not isinstance(self.value, list):
            raise self.error("a list")
        return [Shape(item, self.server, f"{self.where}[{index}]")
                for index, item in enumerate(self.value)]

    def text(self) -> str:
        if not isinstance(self.value, str):
            raise self.error("text")
        return self.value

    def optional_text(self) -> str | None:
        return None if self.value is None else self.text()

    def number(self, low: float = -math.inf, high: float = math.inf) -> float:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error("a number")
        if not low <= value <= high:
            raise AnswerError(self.server, f"{self.where} is {value:g}, outside "
                                           f"[{low:g}, {high:g}]")
        return float(value)

    def count(self, high: int = 10**15) -> int:
        """A whole number in [0, ``high``] (0 when missing); 12.0 counts as 12."""
        if self.value is None:
            return 0
        value = self.number(0, high)
        if not value.is_integer():
            raise AnswerError(self.server, f"{self.where} is {value:g}, not a whole number")
        return int(value)
