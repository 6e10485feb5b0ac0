"""JSON into typed objects, checked once where it comes in.

JSON reaches duopod at a few edges: the queue's job records in Redis, the studio's request
bodies, records on disk. Each edge turns what ``json.loads`` gave into a frozen dataclass
right there with ``shaped``, which checks every field against the dataclass's own
annotations, so the code after it reads typed fields and a malformed value is one line
naming the field (``turn: a whole number is needed``), never a KeyError or a TypeError
three calls later. A check beyond the type (a range, a choice) goes in the dataclass's
``__post_init__``, raising ``ShapeError``, so it holds for objects made in code too.

Why not pydantic or a similar library: the shapes are a dozen small dataclasses of
strings, numbers, flags and lists, and this covers exactly those annotations in one
screen; a library would add a dependency (and its own model classes) for no more checking.
Keys the dataclass does not have are ignored, so a newer writer's extra field does not
break an older reader.
"""

from __future__ import annotations

import dataclasses
import math
import types
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = ["ShapeError", "shaped"]

T = TypeVar("T")


class ShapeError(ValueError):
    """A JSON value that does not have the shape asked for, as one line: the field's place
    (``overrides.title``) and what it needs."""

    def __init__(self, need: str, place: tuple[str, ...] = ()) -> None:
        self.need = need
        self.place = place
        super().__init__(f"{'.'.join(place)}: {need}" if place else need)

    def within(self, name: str) -> ShapeError:
        return ShapeError(self.need, (name, *self.place))


def shaped(cls: type[T], data: object) -> T:
    """``data`` (decoded JSON) as an instance of the dataclass ``cls``: every field present
    (or defaulted) and of its annotated type; ShapeError otherwise."""
    if not isinstance(data, dict):
        raise ShapeError("a JSON object is needed")
    hints = _hints(cls)
    values: dict[str, object] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not item.init:
            continue
        if item.name not in data:
            if item.default is dataclasses.MISSING and \
                    item.default_factory is dataclasses.MISSING:
                raise ShapeError("missing", (item.name,))
            continue
        try:
            values[item.name] = _value(hints[item.name], data[item.name])
        except ShapeError as exc:
            raise exc.within(item.name) from None
    return cls(**values)  # a __post_init__ may refuse too (ShapeError, in its own words)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The dataclass's field types, its string annotations resolved (once per class)."""
    found = _HINTS.get(cls)
    if found is None:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a dataclass")
        found = _HINTS[cls] = get_type_hints(cls)
    return found


def _value(hint: Any, value: object) -> object:
    origin = get_origin(hint)
    if hint is Any or hint is object:
        return value
    if origin is Union or origin is types.UnionType:
        return _union(get_args(hint), value)
    if origin is Literal:
        if value in get_args(hint):
            return value
        raise ShapeError(f"one of {', '.join(repr(choice) for choice in get_args(hint))}")
    if origin in (list, tuple):
        return _sequence(hint, origin, value)
    if origin is dict:
        return _mapping(get_args(hint)[1], value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return shaped(hint, value)
    return _scalar(hint, value)


def _scalar(hint: Any, value: object) -> object:
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ShapeError("true or false is needed")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ShapeError("a whole number is needed")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and \
                math.isfinite(value):
            return float(value)
        raise ShapeError("a number is needed")
    if hint is str or hint is Path:
        if isinstance(value, str):
            return value if hint is str else Path(value)
        raise ShapeError("a string is needed")
    raise TypeError(f"shaped cannot check {hint!r}")


def _union(choices: tuple[Any, ...], value: object) -> object:
    if value is None and type(None) in choices:
        return None
    needs = []
    for choice in choices:
        if choice is type(None):
            continue
        try:
            return _value(choice, value)
        except ShapeError as exc:
            if exc.place:  # the value has this shape but a field of it is wrong: say that
                raise
            needs.append(exc.need.removesuffix(" is needed"))
    optional = " (or null)" if type(None) in choices else ""
    raise ShapeError(f"{' or '.join(needs)}{optional} is needed")


def _sequence(hint: Any, origin: type, value: object) -> object:
    if not isinstance(value, list):
        raise ShapeError("a list is needed")
    args = get_args(hint)
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if len(value) != len(args):
            raise ShapeError(f"a list of {len(args)} is needed")
        kinds = list(args)
    else:
        kinds = [args[0]] * len(value)
    items = []
    for index, (kind, item) in enumerate(zip(kinds, value, strict=True)):
        try:
            items.append(_value(kind, item))
        except ShapeError as exc:
            raise exc.within(str(index)) from None
    return tuple(items) if origin is tuple else items


def _mapping(kind: Any, value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ShapeError("an object is needed")
    found: dict[str, object] = {}
    for key, item in value.items():
        try:
            found[str(key)] = _value(kind, item)
        except ShapeError as exc:
            raise exc.within(str(key)) from None
    return found
