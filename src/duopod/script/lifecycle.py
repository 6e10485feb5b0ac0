"""Front-matter fields that say when and how an episode is published: its language, draft
or scheduled status, time of day, season, type, own art and explicit flag. Each bad value is
one line naming the script's line."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..apple import check_cover
from ..errors import InputError
from ..files import file_inside
from .model import Lifecycle

if TYPE_CHECKING:
    from .parse import _Fields

LIFECYCLE_FIELDS = {"language", "status", "publish_at", "time", "season", "episode_type",
                    "image", "explicit"}
STATUSES = ("draft", "published")
EPISODE_TYPES = ("full", "trailer", "bonus")
LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_lifecycle(fields: _Fields, path: Path, workspace: Path) -> Lifecycle:
    return Lifecycle(
        language=_language(fields, path),
        status=_choice(fields, "status", STATUSES, path) or "published",
        publish_at=_moment(fields, path),
        time=_time(fields, path),
        season=_whole(fields, "season", 1, 10_000, path),
        episode_type=_choice(fields, "episode_type", EPISODE_TYPES, path) or "full",
        image=_image(fields, path, workspace),
        explicit=_flag(fields, "explicit", path),
    )


def _language(fields: _Fields, path: Path) -> str | None:
    value = fields.text("language")
    if value is not None and not LANGUAGE_TAG.match(value):
        raise InputError(f"'language' must be a language tag like zh-CN or en-US, not {value!r}",
                         path, fields.line("language"))
    return value


def _choice(fields: _Fields, key: str, allowed: tuple[str, ...], path: Path) -> str | None:
    value = fields.text(key)
    if value is not None and value not in allowed:
        raise InputError(f"{key!r} must be one of {', '.join(allowed)}, not {value!r}",
                         path, fields.line(key))
    return value


def _moment(fields: _Fields, path: Path) -> dt.datetime | None:
    """``publish_at``: a date and time, with an offset (``+08:00``, ``Z``) or in UTC."""
    value = fields.text("publish_at")
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"'publish_at' must be a date and time like 2025-12-10T07:30+08:00, "
                         f"not {value!r}", path, fields.line("publish_at")) from None
    if not 1900 <= moment.year <= 2200:
        raise InputError(f"'publish_at' {value!r} is out of range", path,
                         fields.line("publish_at"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _time(fields: _Fields, path: Path) -> dt.time | None:
    value = fields.text("time")
    if value is None:
        return None
    match = _TIME.match(value)
    if not match:
        raise InputError(f"'time' must be a time of day like 07:30, not {value!r}", path,
                         fields.line("time"))
    return dt.time(int(match.group(1)), int(match.group(2)))


def _whole(fields: _Fields, key: str, low: int, high: int, path: Path) -> int | None:
    value = fields.text(key)
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,6}", value) or not low <= int(value) <= high:
        raise InputError(f"{key!r} must be a whole number from {low} to {high}, not {value!r}",
                         path, fields.line(key))
    return int(value)


def _flag(fields: _Fields, key: str, path: Path) -> bool | None:
    value = fields.text(key)
    if value is None:
        return None
    if value.lower() not in ("true", "false", "yes", "no"):
        raise InputError(f"{key!r} must be true or false, not {value!r}", path, fields.line(key))
    return value.lower() in ("true", "yes")


def _image(fields: _Fields, path: Path, workspace: Path) -> Path | None:
    value = fields.text("image")
    if value is None:
        return None
    line = fields.line("image")
    image = file_inside(path.parent, value, workspace, what="image", path=path, line=line)
    try:
        check_cover(image, path)
    except InputError as exc:
        raise InputError(exc.message.replace("field 'cover'", "'image'"), path, line) from None
    return image
