"""Code a package names but imports only when first used, so that importing the package,
and the command's start-up, load no more than the command needs:

- ``lazy_exports``: names a package exports (PEP 562); type checkers see them through the
  package's ``TYPE_CHECKING`` imports;
- ``lazy_call``: a registry entry's function, its module imported on the first call;
- ``registered``: a registry of built-in specs and plug-ins' (entry points), shared by the
  speech engines (``duopod.engines``) and the chat engines (``duopod.writers``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # lazy.py is imported by every package: nothing more at start-up
    import logging
    from importlib.metadata import EntryPoint


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name in ``homes`` from
    its module (relative to the package) on first use and keeps it on the package."""

    def attribute(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{home}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    return attribute


def lazy_call(package: str, module: str, attribute: str) -> Callable[..., Any]:
    """A callable that imports ``module`` (relative to ``package``) on its first call and
    calls its ``attribute``, so listing a registry stays cheap."""

    def call(*args: Any) -> Any:
        return getattr(import_module(module, package), attribute)(*args)

    return call


class Named(Protocol):
    @property
    def name(self) -> str: ...


Spec = TypeVar("Spec", bound=Named)


def registered(builtin: Iterable[Spec], entries: Iterable[EntryPoint], kind: type[Spec],
               what: str, log: logging.Logger) -> dict[str, Spec]:
    """Specs by name: the built-in ones first, then each entry point that loads to a
    ``kind`` (a plug-in never replaces a built-in). A plug-in that fails to load, or loads
    to something else, is logged as ``what`` plug-in and skipped: it must not stop the
    built-in ones."""
    specs = {spec.name: spec for spec in builtin}
    for entry in entries:
        try:
            spec = entry.load()
        except Exception as exc:  # a broken plug-in: any error its import raises
            log.warning("%s plug-in %s could not be loaded: %s", what, entry.name, exc)
            continue
        if not isinstance(spec, kind):
            log.warning("%s plug-in %s is not a %s", what, entry.name, kind.__name__)
            continue
        specs.setdefault(spec.name, spec)
    return specs
