"""Keeping paths a producer gives inside the show's folder."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

__all__ = ["file_inside"]


def file_inside(base: Path, relative: str, root: Path, *, what: str, path: Path,
                line: int | None = None, base_name: str = "the script") -> Path:
    """The existing file ``relative`` names, resolved against ``base``, refused (InputError
    naming ``path`` and ``line``) when absolute, outside the show's folder ``root`` (links
    and ``..`` included), or missing. Every path a producer writes goes through here."""
    if Path(relative).is_absolute() or relative.startswith("~"):
        raise InputError(f"{what} {relative!r} must be a path relative to {base_name}", path,
                         line)
    resolved = (base / relative).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise InputError(f"{what} {relative!r} lies outside the workspace (the show's folder)",
                         path, line)
    if not resolved.is_file():
        raise InputError(f"{what} {relative!r} does not exist", path, line)
    return resolved
