"""JSON into typed objects, checked once where it comes in.

JSON reaches duopod at a few edges: the queue's job records in Redis, the studio's request
bodies, the build's bundles and the episode records on disk. Each edge turns what
``json.loads`` gave into a frozen dataclass right there with ``shaped``, which checks every
field against the dataclass's own annotations, so the code after it reads typed fields and
a malformed value is one line naming the field (``turn: a whole number is needed``), never
a KeyError or a TypeError three calls later. A check beyond the type (a range, a choice)
goes in the dataclass's ``__post_init__``, raising ``ShapeError``, so it holds for objects
made in code too.

Why not pydantic or a similar library: the shapes are small dataclasses of strings,
numbers, flags, lists and other such dataclasses, and this covers exactly those
annotations in one screen; a library would add a dependency (and model classes of its own
beside the dataclasses) for no more checking. Each annotation is turned into a checking
function once, so a long episode's timeline (thousands of sentences) reads in a few
milliseconds. Keys the dataclass does not have are ignored, so a newer writer's extra
field does not break an older reader.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = ["ShapeError", "shaped"]

T = TypeVar("T")
Check = Callable[[object], object]
"""A value as decoded JSON -> the value as the annotation has it, or ShapeError."""


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
    made = _checker(cls)(data)
    assert isinstance(made, cls)
    return made


_CHECKERS: dict[object, Check] = {}


def _checker(hint: object) -> Check:
    found = _CHECKERS.get(hint)
    if found is None:
        found = _CHECKERS[hint] = _compile(hint)
    return found


def _compile(hint: object) -> Check:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        return _union(get_args(hint))
    if origin is Literal:
        return _literal(get_args(hint))
    if origin in (list, tuple):
        return _sequence(hint, origin)
    if origin is dict:
        return _mapping(_checker(get_args(hint)[1]))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint)
    if hint is object:
        return lambda value: value
    if hint in _SCALARS:
        return _SCALARS[hint]
    raise TypeError(f"shaped cannot check {hint!r}")


def _dataclass(cls: type) -> Check:
    hints = get_type_hints(cls)
    plan = [(item.name, item.default is dataclasses.MISSING
             and item.default_factory is dataclasses.MISSING)
            for item in dataclasses.fields(cls) if item.init]
    checks: dict[str, Check] = {}

    def check(data: object) -> object:
        if not isinstance(data, dict):
            raise ShapeError("a JSON object is needed")
        if not checks:  # compiled on first use: a dataclass may contain itself
            checks.update({name: _checker(hints[name]) for name, _ in plan})
        values: dict[str, object] = {}
        for name, required in plan:
            if name not in data:
                if required:
                    raise ShapeError("missing", (name,))
                continue
            try:
                values[name] = checks[name](data[name])
            except ShapeError as exc:
                raise exc.within(name) from None
        return cls(**values)  # a __post_init__ may refuse too (ShapeError, in its own words)

    return check


def _boolean(value: object) -> object:
    if isinstance(value, bool):
        return value
    raise ShapeError("true or false is needed")


def _whole(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ShapeError("a whole number is needed")


def _number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool) and \
            math.isfinite(value):
        return float(value)
    raise ShapeError("a number is needed")


def _string(value: object) -> object:
    if isinstance(value, str):
        return value
    raise ShapeError("a string is needed")


def _path(value: object) -> object:
    return Path(str(_string(value)))


_SCALARS: dict[object, Check] = {bool: _boolean, int: _whole, float: _number, str: _string,
                                 Path: _path}


def _literal(choices: tuple[object, ...]) -> Check:
    def check(value: object) -> object:
        if value in choices:
            return value
        raise ShapeError(f"one of {', '.join(repr(choice) for choice in choices)}")

    return check


def _union(choices: tuple[object, ...]) -> Check:
    optional = type(None) in choices
    checks = [_checker(choice) for choice in choices if choice is not type(None)]

    def check(value: object) -> object:
        if value is None and optional:
            return None
        needs = []
        for one in checks:
            try:
                return one(value)
            except ShapeError as exc:
                if exc.place:  # the value has this shape but a field of it is wrong: say so
                    raise
                needs.append(exc.need.removesuffix(" is needed"))
        raise ShapeError(f"{' or '.join(needs)}{' (or null)' if optional else ''} is needed")

    return check


def _sequence(hint: object, origin: object) -> Check:
    args = get_args(hint)
    fixed = origin is tuple and not (len(args) == 2 and args[1] is Ellipsis)
    kinds = [_checker(arg) for arg in args] if fixed else []
    each = None if fixed else _checker(args[0])

    def check(value: object) -> object:
        if not isinstance(value, list):
            raise ShapeError("a list is needed")
        if fixed and len(value) != len(kinds):
            raise ShapeError(f"a list of {len(kinds)} is needed")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(kinds[index](item) if each is None else each(item))
            except ShapeError as exc:
                raise exc.within(str(index)) from None
        return tuple(items) if origin is tuple else items

    return check


def _mapping(each: Check) -> Check:
    def check(value: object) -> object:
        if not isinstance(value, dict):
            raise ShapeError("an object is needed")
        found: dict[str, object] = {}
        for key, item in value.items():
            try:
                found[str(key)] = each(item)
            except ShapeError as exc:
                raise exc.within(str(key)) from None
        return found

    return check
