"""The show, typed and read once: show.toml with every table of it (the show itself,
``[audio]``, ``[music]``, ``[feed]``, ``[writer]``, ``[deploy.NAME]``, ``[[txt]]``,
``[[podroll]]``, ``[analytics]``, ``[funding]``, ``[license]``) and the voice profiles.

``load_show`` is the only reader of show.toml: every stage receives the ``ShowConfig`` it
returns (through ``Workspace``) and none opens the file again. Every refusal is one line
naming show.toml and the line the TOML parser found the field on (``show.toml``).
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..disk.paths import file_inside
from ..errors import InputError
from .apple import check_category, check_cover
from .feeds import FeedSettings, parse_feed_settings
from .fields import Fields
from .targets import DeployTarget, deploy_targets
from .toml import load_toml
from .writer import WRITER_FIELDS, WriterSettings, writer_settings

__all__ = ["SHOW_FILE", "AudioSettings", "MusicSettings", "RemoteFeed", "ShowConfig",
           "ShowText", "load_show"]

SHOW_FILE = "show.toml"
LEXICON_FILE = "lexicon.toml"


@dataclass(frozen=True)
class AudioSettings:
    """[audio] in show.toml: pacing, loudness and encoding."""

    gap: float = 0.45
    gap_jitter: float = 0.12
    section_gap: float = 1.2
    loudness_lufs: float = -16.0
    true_peak_dbtp: float = -1.0
    bitrate_kbps: int = 128
    channels: int = 1


@dataclass(frozen=True)
class MusicSettings:
    """[music] in show.toml: intro/outro jingles, paths relative to the workspace."""

    intro: Path | None = None
    outro: Path | None = None
    level_db: float = -6.0
    fade: float = 1.5
    overlap: float = 1.0
    bed: Path | None = None
    bed_level_db: float = -18.0
    duck_db: float = 12.0


@dataclass(frozen=True)
class ShowText:
    """A podcast:txt line: free text for machines (e.g. a platform's ownership code)."""
    text: str
    purpose: str | None = None


@dataclass(frozen=True)
class RemoteFeed:
    """A show this one recommends (podcast:podroll's podcast:remoteItem)."""
    feed_guid: str
    feed_url: str | None = None


@dataclass(frozen=True)
class ShowConfig:
    title: str
    author: str
    language: str
    base_url: str
    description: str
    category: str
    subcategory: str | None = None
    email: str | None = None
    cover: Path | None = None
    explicit: bool = False
    show_type: str = "episodic"
    publish_time: dt.time = dt.time(6, 0)
    """When on its date an episode goes out, in ``timezone``."""
    timezone: str = "UTC"
    guid: str | None = None
    """podcast:guid when pinned here; else kept from the published feed, made once."""
    locked: bool = False
    copyright: str | None = None
    funding_url: str | None = None
    funding_text: str | None = None
    license: str | None = None
    license_url: str | None = None
    medium: str = "podcast"
    disclose_synthetic_voices: bool = True
    """The AI-content disclosure (podcast:txt purpose="ai-content") covers episodes spoken
    by neural voices too, not only those whose words a model wrote (docs/publishing.md
    argues the default)."""
    txt: tuple[ShowText, ...] = ()
    podroll: tuple[RemoteFeed, ...] = ()
    analytics_prefix: str | None = None
    """Put before enclosure URLs (OP3, Podtrac style), e.g. ``https://op3.dev/e/``."""
    source_appendix: str = "excerpt"
    """How much of a source article the pages reprint: full, excerpt or link."""
    source_excerpt_paragraphs: int = 3
    audio: AudioSettings = field(default_factory=AudioSettings)
    music: MusicSettings = field(default_factory=MusicSettings)
    feed: FeedSettings = field(default_factory=FeedSettings)
    """``[feed]``: extra renditions, the feeds in other languages (``show.feeds``)."""
    writer: WriterSettings = field(default_factory=WriterSettings)
    """``[writer]``: the writers' room's model, personas, greeting (``show.writer``)."""
    deploy: tuple[DeployTarget, ...] = ()
    """``[deploy.NAME]``: where the site is deployed, in the order written."""
    lexicon: Path | None = None
    """The show's pronunciation lexicon (``lexicon = "lexicon.toml"``, the default); it
    need not exist."""
    path: Path | None = None
    """show.toml itself, for messages."""

    @property
    def hubs(self) -> tuple[str, ...]:
        """WebSub hubs of the deploy targets (``[deploy.NAME] hub``): the feed names them."""
        return tuple(dict.fromkeys(target.hub for target in self.deploy if target.hub))

    def deploy_target(self, name: str | None) -> DeployTarget:
        """The target called ``name``; without a name, the only one there is."""
        targets = {target.name: target for target in self.deploy}
        if not targets:
            raise InputError("no deploy target: add a table like [deploy.cdn] with "
                             "url = \"s3://bucket/prefix\" or \"file:///srv/www/show\"",
                             self.path)
        if name is None:
            if len(targets) > 1:
                raise InputError(f"several deploy targets ({', '.join(sorted(targets))}): "
                                 "name the one to deploy to", self.path)
            return next(iter(targets.values()))
        if name not in targets:
            raise InputError(f"no deploy target {name!r} (known: "
                             f"{', '.join(sorted(targets))})", self.path)
        return targets[name]


_SHOW_FIELDS = {
    "title", "author", "language", "base_url", "description", "category", "subcategory",
    "email", "cover", "explicit", "type", "audio", "music", "publish_time", "timezone", "guid",
    "locked", "copyright", "funding", "license", "medium", "source_appendix", "deploy",
    "writer", "txt", "podroll", "analytics", "feed", "lexicon", "disclose_synthetic_voices",
}
MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog")
SOURCE_APPENDIX = ("full", "excerpt", "link")
_URL = re.compile(r"^https?://[^\s<>\"']+$")
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_AUDIO_FIELDS = {
    "gap", "gap_jitter", "section_gap", "loudness_lufs", "true_peak_dbtp", "bitrate_kbps",
    "channels",
}
_MUSIC_FIELDS = {
    "intro", "outro", "level_db", "fade", "overlap", "bed", "bed_level_db", "duck_db",
}


def load_show(path: Path, root: Path) -> ShowConfig:
    """show.toml, whole: InputError naming the file and line of the first mistake."""
    toml = load_toml(path)
    table = Fields(toml.data, path, known=_SHOW_FIELDS, typed=True, toml=toml)
    base_url = table.required_text("base_url").rstrip("/")
    if not _URL.match(base_url):
        raise table.error("base_url", f"must be an http(s) URL, not {base_url!r}")
    language = table.required_text("language")
    if not _LANGUAGE.match(language):
        raise table.error("language", f"must be a language tag like zh-CN, not {language!r}")
    show_type = table.choice("type", ("episodic", "serial"), "episodic") or "episodic"
    cover_path = _inside(root, table.required_text("cover"), table, "cover")
    check_cover(cover_path, path)
    category, subcategory = table.required_text("category"), table.text("subcategory")
    check_category(category, subcategory, path)
    targets = deploy_targets(table)
    return ShowConfig(
        title=table.required_text("title"),
        author=table.required_text("author"),
        language=language,
        base_url=base_url,
        description=table.required_text("description"),
        category=category,
        subcategory=subcategory,
        email=table.text("email"),
        cover=cover_path,
        explicit=bool(table.flag("explicit", False)),
        disclose_synthetic_voices=bool(table.flag("disclose_synthetic_voices", True)),
        show_type=show_type,
        **_publishing(table),
        **_listener_tags(table),
        audio=_audio_settings(table.sub("audio", _AUDIO_FIELDS)),
        music=_music_settings(table.sub("music", _MUSIC_FIELDS), root),
        feed=parse_feed_settings(table.table("feed"), path),
        writer=writer_settings(table.sub("writer", WRITER_FIELDS),
                               configured=isinstance(table.raw("writer"), dict)),
        deploy=targets,
        lexicon=_lexicon(table, root),
        path=path,
    )


def _lexicon(table: Fields, root: Path) -> Path:
    relative = table.text("lexicon") or LEXICON_FILE
    if Path(relative).is_absolute() or relative.startswith("~"):
        raise table.error("lexicon", "must be a path relative to the show's folder")
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise table.error("lexicon", "lies outside the show's folder")
    return resolved


def _publishing(table: Fields) -> dict[str, Any]:
    """show.toml's publishing fields: time of day, identity, rights, funding, appendix."""
    when = table.text("publish_time") or "06:00"
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", when)
    if not match:
        raise table.error("publish_time", f"must be a time of day like 06:00, not {when!r}")
    zone = table.text("timezone") or "UTC"
    try:
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise table.error("timezone", f"unknown time zone {zone!r} (e.g. Asia/Shanghai)"
                          ) from None
    guid = table.text("guid")
    if guid is not None:
        try:
            guid = str(uuid.UUID(guid))
        except ValueError:
            raise table.error("guid", f"must be a UUID, not {guid!r}") from None
    funding = table.sub("funding", {"url", "text"})
    licence_value = table.raw("license")
    licence = table.sub("license", {"name", "url"}) if isinstance(licence_value, dict) else None
    for fields, key in ((funding, "url"), (licence, "url")):
        url = fields.text(key) if fields is not None else None
        if fields is not None and url is not None and not _URL.match(url):
            raise fields.error(key, f"must be an http(s) URL, not {url!r}")
    return {
        "publish_time": dt.time(int(match.group(1)), int(match.group(2))),
        "timezone": zone,
        "guid": guid,
        "locked": bool(table.flag("locked", False)),
        "copyright": table.text("copyright"),
        "funding_url": funding.text("url"),
        "funding_text": funding.text("text"),
        "license": licence.text("name") if licence is not None else table.text("license"),
        "license_url": licence.text("url") if licence is not None else None,
        "medium": table.choice("medium", MEDIUMS, MEDIUMS[0]) or MEDIUMS[0],
        "source_appendix": table.choice("source_appendix", SOURCE_APPENDIX, "excerpt")
        or "excerpt",
        "source_excerpt_paragraphs": 3,
    }


TXT_MAX, TXT_PURPOSE_MAX = 4000, 128
"""The podcast namespace's limits on podcast:txt and its ``purpose``."""


def _listener_tags(table: Fields) -> dict[str, Any]:
    """show.toml's ``[[txt]]``, ``[[podroll]]`` and ``[analytics]``: the Podcasting 2.0
    channel tags that need the producer's words (see docs/tags-and-clips.md)."""
    return {
        "txt": tuple(_show_text(entry) for entry in _array(table, "txt", {"text", "purpose"})),
        "podroll": tuple(_remote_feed(entry) for entry in _array(table, "podroll",
                                                                 {"feed_guid", "feed_url"})),
        "analytics_prefix": _analytics_prefix(table.sub("analytics", {"prefix"})),
    }


def _array(table: Fields, key: str, known: set[str]) -> list[Fields]:
    value = table.raw(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise table.error(key, f"must be an array of tables ([[{key}]])")
    return [Fields(entry, table.path, known=known, typed=True, prefix=f"{key}[{number}].",
                   toml=table.toml, place=(key, number - 1))
            for number, entry in enumerate(value, 1)]


def _show_text(fields: Fields) -> ShowText:
    text = fields.required_text("text")
    purpose = fields.text("purpose")
    if len(text) > TXT_MAX:
        raise fields.error("text", f"is longer than {TXT_MAX} characters")
    if purpose is not None and len(purpose) > TXT_PURPOSE_MAX:
        raise fields.error("purpose", f"is longer than {TXT_PURPOSE_MAX} characters")
    return ShowText(text=text, purpose=purpose)


def _remote_feed(fields: Fields) -> RemoteFeed:
    guid = fields.required_text("feed_guid")
    try:
        guid = str(uuid.UUID(guid))
    except ValueError:
        raise fields.error("feed_guid", "must be the show's podcast:guid (a UUID), "
                                        f"not {guid!r}") from None
    url = fields.text("feed_url")
    if url is not None and not _URL.match(url):
        raise fields.error("feed_url", f"must be an http(s) URL, not {url!r}")
    return RemoteFeed(feed_guid=guid, feed_url=url)


def _analytics_prefix(fields: Fields) -> str | None:
    prefix = fields.text("prefix")
    if prefix is None:
        return None
    if "@" in urllib.parse.urlsplit(prefix).netloc:
        raise fields.error("prefix", "must not carry a user name or password")
    if not _URL.match(prefix) or not prefix.endswith("/"):
        raise fields.error("prefix", "must be an http(s) URL ending in '/' "
                                     f"(e.g. https://op3.dev/e/), not {prefix!r}")
    return prefix


def _number(table: Fields, key: str, low: float, high: float, default: float) -> float:
    value = table.number(key, low, high, default)
    return default if value is None else value


def _audio_settings(t: Fields) -> AudioSettings:
    d = AudioSettings()
    return AudioSettings(
        gap=_number(t, "gap", 0, 5, d.gap),
        gap_jitter=_number(t, "gap_jitter", 0, 1, d.gap_jitter),
        section_gap=_number(t, "section_gap", 0, 10, d.section_gap),
        loudness_lufs=_number(t, "loudness_lufs", -40, -5, d.loudness_lufs),
        true_peak_dbtp=_number(t, "true_peak_dbtp", -9, 0, d.true_peak_dbtp),
        bitrate_kbps=int(_number(t, "bitrate_kbps", 32, 320, d.bitrate_kbps)),
        channels=int(_number(t, "channels", 1, 2, d.channels)),
    )


def _music_settings(t: Fields, root: Path) -> MusicSettings:
    d = MusicSettings()
    paths = {key: _inside(root, value, t, key) if (value := t.text(key)) else None
             for key in ("intro", "outro", "bed")}
    return MusicSettings(
        intro=paths["intro"],
        outro=paths["outro"],
        level_db=_number(t, "level_db", -40, 0, d.level_db),
        fade=_number(t, "fade", 0, 10, d.fade),
        overlap=_number(t, "overlap", 0, 5, d.overlap),
        bed=paths["bed"],
        bed_level_db=_number(t, "bed_level_db", -60, 0, d.bed_level_db),
        duck_db=_number(t, "duck_db", 0, 40, d.duck_db),
    )


def _inside(root: Path, relative: str, table: Fields, key: str) -> Path:
    return file_inside(root, relative, root, what=f"field '{table.prefix}{key}':",
                       path=table.path, line=table.line(key), base_name="the show's folder")
