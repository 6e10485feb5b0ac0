"""Front-matter fields that say when and how an episode is published: its language, draft
or scheduled status, time of day, season, type, own art and explicit flag. Each bad value is
one line naming the script's line."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ..disk.paths import file_inside
from ..errors import InputError
from ..show.apple import check_cover
from ..show.fields import Fields
from ..text import is_valid_slug
from .model import Lifecycle

LIFECYCLE_FIELDS = {"language", "status", "publish_at", "time", "season", "episode_type",
                    "image", "explicit", "translation_of"}
STATUSES = ("draft", "published")
EPISODE_TYPES = ("full", "trailer", "bonus")
LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_lifecycle(fields: Fields, path: Path, workspace: Path) -> Lifecycle:
    return Lifecycle(
        language=_language(fields, path),
        status=fields.choice("status", STATUSES, "published") or "published",
        publish_at=_moment(fields, path),
        time=_time(fields, path),
        season=fields.whole("season", 1, 10_000),
        episode_type=fields.choice("episode_type", EPISODE_TYPES, "full") or "full",
        image=_image(fields, path, workspace),
        explicit=fields.flag("explicit"),
        translation_of=_translation_of(fields, path),
    )


def _translation_of(fields: Fields, path: Path) -> str | None:
    """The slug of the episode this script is a version of (``duopod translate``)."""
    value = fields.text("translation_of")
    if value is not None and not is_valid_slug(value):
        raise InputError(f"'translation_of' must be the slug of the episode this one "
                         f"translates (lowercase ASCII letters, digits and '-'), not {value!r}",
                         path, fields.line("translation_of"))
    return value


def _language(fields: Fields, path: Path) -> str | None:
    value = fields.text("language")
    if value is not None and not LANGUAGE_TAG.match(value):
        raise InputError(f"'language' must be a language tag like zh-CN or en-US, not {value!r}",
                         path, fields.line("language"))
    return value


def _moment(fields: Fields, path: Path) -> dt.datetime | None:
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


def _time(fields: Fields, path: Path) -> dt.time | None:
    value = fields.text("time")
    if value is None:
        return None
    match = _TIME.match(value)
    if not match:
        raise InputError(f"'time' must be a time of day like 07:30, not {value!r}", path,
                         fields.line("time"))
    return dt.time(int(match.group(1)), int(match.group(2)))


def _image(fields: Fields, path: Path, workspace: Path) -> Path | None:
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
