"""Typed reads from one table of a producer's file: show.toml and its tables, a voice
profile, a script's front matter. Every error is one line naming the file, the field and,
where known, its line.

TOML tables arrive typed (a number is a number), so a value of the wrong kind is refused as
such; front matter arrives as the YAML scalars' text (duopod never lets YAML build values),
so its numbers, flags and choices are read from that text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    from .toml import KeyPath, TomlFile

_WHOLE = re.compile(r"[0-9]{1,9}")
_FLAGS = {"true": True, "yes": True, "false": False, "no": False}


class Fields:
    """The fields of one table. ``typed``: values carry their TOML types; otherwise they
    are text to be read. ``kind`` names a field in messages ("field", "front matter field");
    ``prefix`` names the table (``audio.``). Lines come from ``toml`` (the file the table
    was read from) at ``place`` (the table's key path in it), else from ``lines``."""

    def __init__(self, values: Mapping[str, Any], path: Path, *, known: Iterable[str],
                 typed: bool, prefix: str = "", kind: str = "field",
                 lines: Mapping[str, int] | None = None, line: int | None = None,
                 toml: TomlFile | None = None, place: KeyPath = ()):
        self.values, self.path, self.prefix, self.typed = values, path, prefix, typed
        self.toml, self.place = toml, place
        self.lines, self._line = dict(lines or {}), line
        allowed = set(known)
        for key in values:
            if key not in allowed:
                raise InputError(f"unknown {kind} '{prefix}{key}' (known: "
                                 f"{', '.join(sorted(allowed))})", path, self.line(key))
        self._label = "field " if typed else ""

    @property
    def default_line(self) -> int | None:
        """The table's own line (worked out only when an error needs it)."""
        if self.toml is not None and self.place:
            return self.toml.line_of(*self.place)
        return self._line

    def line(self, key: str) -> int | None:
        if self.toml is not None:
            return self.toml.line_of(*self.place, key)
        return self.lines.get(key, self.default_line)

    def sub(self, key: str, known: Iterable[str]) -> Fields:
        """The sub-table ``key`` (empty when absent) as fields of its own."""
        return Fields(self.table(key), self.path, known=known, typed=self.typed,
                      prefix=f"{self.prefix}{key}.", toml=self.toml, place=(*self.place, key))

    def error(self, key: str, message: str) -> InputError:
        """``'{prefix}{key}' {message}`` as a one-line error at the field's line."""
        return InputError(f"{self._label}'{self.prefix}{key}' {message}", self.path,
                          self.line(key))

    def raw(self, key: str, *, required: bool = False) -> Any:
        value = self.values.get(key)
        if value is None and required:
            raise InputError(f"missing required field '{self.prefix}{key}'", self.path,
                             self.default_line)
        return value

    def text(self, key: str, *, required: bool = False, default: str | None = None
             ) -> str | None:
        value = self.raw(key, required=required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, "has the wrong type" if self.typed else "must be a single value")
        if required and not value.strip():
            raise self.error(key, "is empty")
        return value

    def required_text(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None  # required: missing is an error above
        return value

    def number(self, key: str, low: float, high: float, default: float | None = None
               ) -> float | None:
        value = self.raw(key)
        if value is None:
            return default
        number = self._number(key, value)
        if not low <= number <= high:
            raise self.error(key, f"must be a number from {low:g} to {high:g}, not {value!r}")
        return number

    def _number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or (self.typed and not isinstance(value, int | float)):
            raise self.error(key, "has the wrong type")
        try:
            return float(value)
        except ValueError:
            return float("nan")  # refused by the range check, with the value shown

    def whole(self, key: str, low: int, high: int, default: int | None = None) -> int | None:
        """A whole number, in ASCII digits when written as text: ``str.isdigit`` also
        accepts '²' and other digits ``int`` cannot read."""
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or (self.typed and not isinstance(value, int)):
            raise self.error(key, "has the wrong type")
        number = value if isinstance(value, int) else (
            int(value) if _WHOLE.fullmatch(str(value)) else None)
        if number is None or not low <= number <= high:
            raise self.error(key, f"must be a whole number from {low} to {high}, not {value!r}")
        return number

    def flag(self, key: str, default: bool | None = None) -> bool | None:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if self.typed or str(value).lower() not in _FLAGS:
            raise self.error(key, "has the wrong type" if self.typed
                             else f"must be true or false, not {value!r}")
        return _FLAGS[str(value).lower()]

    def choice(self, key: str, allowed: tuple[str, ...], default: str | None = None
               ) -> str | None:
        value = self.text(key, default=default)
        if value is not None and value not in allowed:
            raise self.error(key, f"must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def table(self, key: str) -> dict[str, Any]:
        """A sub-table (TOML), empty when absent."""
        value = self.raw(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(key, "has the wrong type")
        return value
