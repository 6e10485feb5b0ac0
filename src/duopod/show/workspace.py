"""The workspace: a show's folder with show.toml, voices/, templates/, scripts/ and episodes/."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InputError
from ..files import file_inside
from .apple import check_category, check_cover
from .feeds import FeedSettings, parse_feed_settings
from .fields import Fields

SHOW_FILE = "show.toml"


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
    txt: tuple[ShowText, ...] = ()
    podroll: tuple[RemoteFeed, ...] = ()
    analytics_prefix: str | None = None
    """Put before enclosure URLs (OP3, Podtrac style), e.g. ``https://op3.dev/e/``."""
    source_appendix: str = "excerpt"
    """How much of a source article the pages reprint: full, excerpt or link."""
    source_excerpt_paragraphs: int = 3
    audio: AudioSettings = field(default_factory=AudioSettings)
    music: MusicSettings = field(default_factory=MusicSettings)
    hubs: tuple[str, ...] = ()
    """WebSub hubs of the deploy targets (``[deploy.NAME] hub``): the feed names them."""
    feed: FeedSettings = field(default_factory=FeedSettings)
    """``[feed]``: extra renditions, the feeds in other languages (``show.feeds``)."""


@dataclass(frozen=True)
class VoiceProfile:
    """voices/<name>.toml: how one host sounds, per engine."""

    name: str
    speaker: str
    path: Path
    engines: dict[str, dict[str, Any]]

    def settings(self, engine: str) -> dict[str, Any]:
        """The engine's table without its language tables (``[kokoro."en-US"]``)."""
        return {key: value for key, value in self.engines.get(engine, {}).items()
                if not is_language_table(key, value)}

    def languages(self, engine: str) -> tuple[str, ...]:
        """The languages with their own table for ``engine``, as written."""
        return tuple(key for key, value in self.engines.get(engine, {}).items()
                     if is_language_table(key, value))

    def language_table(self, engine: str, language: str) -> str | None:
        """Which of the engine's language tables serves an episode in ``language``: the
        same tag (any case), else one for the same language (``en`` or ``en-GB`` for
        ``en-US``); None when the default table does."""
        tags = self.languages(engine)
        for tag in tags:
            if tag.lower() == language.lower():
                return tag
        primary = _primary(language)
        same = [tag for tag in tags if _primary(tag) == primary]
        return min(same, key=len) if same else None

    def for_language(self, language: str) -> VoiceProfile:
        """This host's profile for an episode in ``language``: each engine's default
        table with the language's own table laid over it."""
        engines: dict[str, dict[str, Any]] = {}
        for engine, table in self.engines.items():
            tag = self.language_table(engine, language)
            engines[engine] = {**self.settings(engine), **(table[tag] if tag else {})}
        return replace(self, engines=engines)


LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
"""What a language tag looks like (BCP 47, loosely): zh-CN, en-US, en, cmn."""
_PRIMARY_ALIASES = {"cmn": "zh", "yue": "zh", "zho": "zh", "eng": "en"}


def is_language_table(key: str, value: Any) -> bool:
    """Is ``key = value`` in an engine table a language's own table (``[espeak."en-US"]``)?"""
    return isinstance(value, dict) and LANGUAGE_TAG.match(key) is not None


def _primary(tag: str) -> str:
    first = tag.lower().replace("_", "-").split("-")[0]
    return _PRIMARY_ALIASES.get(first, first)


@dataclass(frozen=True)
class Workspace:
    root: Path
    show: ShowConfig
    profiles: dict[str, VoiceProfile]

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def state_dir(self) -> Path:
        """duopod's private state (``.duopod/``): never part of the site, never deployed.
        It holds the speech cache, the publish journal, unpublished episodes, work and
        bundle folders; every path below it is named here."""
        return self.root / ".duopod"

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "cache"

    @property
    def work_dir(self) -> Path:
        """Private folders of builds in progress (the MP3 before publishing)."""
        return self.state_dir / "work"

    @property
    def bundles_dir(self) -> Path:
        """Bundles made by queue workers, waiting for their publish job."""
        return self.state_dir / "bundles"

    @property
    def pending_dir(self) -> Path:
        """Drafts and episodes scheduled for later: built whole, served by the preview,
        never deployed (``episodes/`` holds only what the feed lists)."""
        return self.state_dir / "pending"

    @property
    def unpublished_dir(self) -> Path:
        """Episodes taken out of the feed, kept whole so a rebuild restores them."""
        return self.state_dir / "unpublished"

    def profiles_for(self, hosts: Iterable[str], script_path: Path | None = None,
                     first_lines: Mapping[str, int] | None = None) -> dict[str, VoiceProfile]:
        """Each host's profile; a missing one is an error at the host's first line."""
        lines = first_lines or {}
        return {host: self.profile_for(host, script_path, lines.get(host)) for host in hosts}

    def profile_for(self, speaker: str, script_path: Path | None = None,
                    line: int | None = None) -> VoiceProfile:
        try:
            return self.profiles[speaker]
        except KeyError:
            available = ", ".join(
                f"{p.name} ({p.speaker})" for p in self.profiles.values()
            ) or "none"
            raise InputError(
                f"no voice profile for host {speaker!r} in voices/ (available: {available})",
                script_path, line,
            ) from None


def find_workspace(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding show.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SHOW_FILE).is_file():
            return folder
    raise InputError(
        f"no {SHOW_FILE} found in {here} or any folder above it; run duopod inside a show's "
        "folder or pass --workspace DIR"
    )


def load_workspace(root: Path | None = None) -> Workspace:
    root = find_workspace(root)
    show = load_show(root / SHOW_FILE, root)
    profiles = load_profiles(root / "voices")
    return Workspace(root=root, show=show, profiles=profiles)


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise InputError(f"invalid TOML: {exc}", path, line) from None
    except UnicodeDecodeError:
        raise InputError("not UTF-8", path) from None


def _table(data: dict[str, Any], path: Path, prefix: str, known: set[str]) -> Fields:
    return Fields(data, path, known=known, typed=True, prefix=prefix)


_SHOW_FIELDS = {
    "title", "author", "language", "base_url", "description", "category", "subcategory",
    "email", "cover", "explicit", "type", "audio", "music", "publish_time", "timezone", "guid",
    "locked", "copyright", "funding", "license", "medium", "source_appendix", "deploy",
    "writer", "txt", "podroll", "analytics", "feed",
}
MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog")
SOURCE_APPENDIX = ("full", "excerpt", "link")
_URL = re.compile(r"^https?://[^\s<>\"']+$")
_AUDIO_FIELDS = {
    "gap", "gap_jitter", "section_gap", "loudness_lufs", "true_peak_dbtp", "bitrate_kbps",
    "channels",
}
_MUSIC_FIELDS = {
    "intro", "outro", "level_db", "fade", "overlap", "bed", "bed_level_db", "duck_db",
}


def load_show(path: Path, root: Path) -> ShowConfig:
    table = _table(_load_toml(path), path, "", _SHOW_FIELDS)
    base_url = table.required_text("base_url").rstrip("/")
    if not re.match(r"^https?://[^\s<>\"']+$", base_url):
        raise InputError(f"field 'base_url' must be an http(s) URL, not {base_url!r}", path)
    language = table.required_text("language")
    if not re.match(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$", language):
        raise InputError(f"field 'language' must be a language tag like zh-CN, not {language!r}",
                         path)
    show_type = table.text("type", default="episodic")
    if show_type not in ("episodic", "serial"):
        raise InputError("field 'type' must be 'episodic' or 'serial'", path)
    cover = table.required_text("cover")
    cover_path = _inside(root, cover, path, "cover")
    check_cover(cover_path, path)
    category, subcategory = table.required_text("category"), table.text("subcategory")
    check_category(category, subcategory, path)
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
        show_type=show_type,
        **_publishing(table, path),
        **_listener_tags(table, path),
        audio=_audio_settings(table.table("audio"), path),
        music=_music_settings(table.table("music"), path, root),
        hubs=_hubs(table.table("deploy")),
        feed=parse_feed_settings(table.table("feed"), path),
    )


def _hubs(deploy: dict[str, Any]) -> tuple[str, ...]:
    """Each deploy target's ``hub``, once; the tables themselves are read (and a bad hub
    refused with its line) by ``duopod.deploy.targets``."""
    found = [table.get("hub") for table in deploy.values() if isinstance(table, dict)]
    return tuple(dict.fromkeys(hub for hub in found if isinstance(hub, str) and _URL.match(hub)))


def _publishing(table: Fields, path: Path) -> dict[str, Any]:
    """show.toml's publishing fields: time of day, identity, rights, funding, appendix."""
    when = table.text("publish_time") or "06:00"
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", when)
    if not match:
        raise InputError(f"field 'publish_time' must be a time of day like 06:00, not {when!r}",
                         path)
    zone = table.text("timezone") or "UTC"
    try:
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise InputError(f"field 'timezone': unknown time zone {zone!r} (e.g. Asia/Shanghai)",
                         path) from None
    guid = table.text("guid")
    if guid is not None:
        try:
            guid = str(uuid.UUID(guid))
        except ValueError:
            raise InputError(f"field 'guid' must be a UUID, not {guid!r}", path) from None
    funding = _table(table.table("funding"), path, "funding.", {"url", "text"})
    funding_url = funding.text("url")
    license_table = table.raw("license")
    licence = _table(license_table if isinstance(license_table, dict) else {}, path, "license.",
                     {"name", "url"})
    for key, url in (("funding.url", funding_url), ("license.url", licence.text("url"))):
        if url is not None and not _URL.match(url):
            raise InputError(f"field '{key}' must be an http(s) URL, not {url!r}", path)
    return {
        "publish_time": dt.time(int(match.group(1)), int(match.group(2))),
        "timezone": zone,
        "guid": guid,
        "locked": bool(table.flag("locked", False)),
        "copyright": table.text("copyright"),
        "funding_url": funding_url,
        "funding_text": funding.text("text"),
        "license": (licence.text("name") if isinstance(license_table, dict)
                    else table.text("license")),
        "license_url": licence.text("url"),
        "medium": _one_of(table, "medium", MEDIUMS, path),
        "source_appendix": _one_of(table, "source_appendix", SOURCE_APPENDIX, path),
        "source_excerpt_paragraphs": 3,
    }


TXT_MAX, TXT_PURPOSE_MAX = 4000, 128
"""The podcast namespace's limits on podcast:txt and its ``purpose``."""


def _listener_tags(table: Fields, path: Path) -> dict[str, Any]:
    """show.toml's ``[[txt]]``, ``[[podroll]]`` and ``[analytics]``: the Podcasting 2.0
    channel tags that need the producer's words (see docs/tags-and-clips.md)."""
    return {
        "txt": tuple(_show_text(entry, path, number)
                     for number, entry in enumerate(_array(table, "txt", path), 1)),
        "podroll": tuple(_remote_feed(entry, path, number)
                         for number, entry in enumerate(_array(table, "podroll", path), 1)),
        "analytics_prefix": _analytics_prefix(table, path),
    }


def _array(table: Fields, key: str, path: Path) -> list[dict[str, Any]]:
    value = table.raw(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise InputError(f"field '{key}' must be an array of tables ([[{key}]])", path)
    return value


def _show_text(entry: dict[str, Any], path: Path, number: int) -> ShowText:
    fields = _table(entry, path, f"txt[{number}].", {"text", "purpose"})
    text = fields.required_text("text")
    purpose = fields.text("purpose")
    if len(text) > TXT_MAX:
        raise InputError(f"field 'txt[{number}].text' is longer than {TXT_MAX} characters",
                         path)
    if purpose is not None and len(purpose) > TXT_PURPOSE_MAX:
        raise InputError(f"field 'txt[{number}].purpose' is longer than {TXT_PURPOSE_MAX} "
                         "characters", path)
    return ShowText(text=text, purpose=purpose)


def _remote_feed(entry: dict[str, Any], path: Path, number: int) -> RemoteFeed:
    fields = _table(entry, path, f"podroll[{number}].", {"feed_guid", "feed_url"})
    guid = fields.required_text("feed_guid")
    try:
        guid = str(uuid.UUID(guid))
    except ValueError:
        raise InputError(f"field 'podroll[{number}].feed_guid' must be the show's "
                         f"podcast:guid (a UUID), not {guid!r}", path) from None
    url = fields.text("feed_url")
    if url is not None and not _URL.match(url):
        raise InputError(f"field 'podroll[{number}].feed_url' must be an http(s) URL, "
                         f"not {url!r}", path)
    return RemoteFeed(feed_guid=guid, feed_url=url)


def _analytics_prefix(table: Fields, path: Path) -> str | None:
    prefix = _table(table.table("analytics"), path, "analytics.", {"prefix"}).text("prefix")
    if prefix is None:
        return None
    if "@" in urllib.parse.urlsplit(prefix).netloc:
        raise InputError("field 'analytics.prefix' must not carry a user name or password",
                         path)
    if not _URL.match(prefix) or not prefix.endswith("/"):
        raise InputError("field 'analytics.prefix' must be an http(s) URL ending in '/' "
                         f"(e.g. https://op3.dev/e/), not {prefix!r}", path)
    return prefix


def _one_of(table: Fields, key: str, allowed: tuple[str, ...], path: Path) -> str:
    return table.choice(key, allowed, "excerpt" if key == "source_appendix" else allowed[0]) \
        or allowed[0]


def _number(table: Fields, key: str, low: float, high: float, default: float) -> float:
    value = table.number(key, low, high, default)
    return default if value is None else value


def _audio_settings(data: dict[str, Any], path: Path) -> AudioSettings:
    t = _table(data, path, "audio.", _AUDIO_FIELDS)
    d = AudioSettings()
    channels = int(_number(t, "channels", 1, 2, d.channels))
    return AudioSettings(
        gap=_number(t, "gap", 0, 5, d.gap),
        gap_jitter=_number(t, "gap_jitter", 0, 1, d.gap_jitter),
        section_gap=_number(t, "section_gap", 0, 10, d.section_gap),
        loudness_lufs=_number(t, "loudness_lufs", -40, -5, d.loudness_lufs),
        true_peak_dbtp=_number(t, "true_peak_dbtp", -9, 0, d.true_peak_dbtp),
        bitrate_kbps=int(_number(t, "bitrate_kbps", 32, 320, d.bitrate_kbps)),
        channels=channels,
    )


def _music_settings(data: dict[str, Any], path: Path, root: Path) -> MusicSettings:
    t = _table(data, path, "music.", _MUSIC_FIELDS)
    d = MusicSettings()
    files = {key: t.text(key) for key in ("intro", "outro", "bed")}
    paths = {key: _inside(root, value, path, f"music.{key}") if value else None
             for key, value in files.items()}
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


def _inside(root: Path, relative: str, path: Path, key: str) -> Path:
    return file_inside(root, relative, root, what=f"field '{key}':", path=path,
                       base_name="the show's folder")




def load_profiles(folder: Path) -> dict[str, VoiceProfile]:
    """Every voices/*.toml, keyed by the host name it speaks for."""
    profiles: dict[str, VoiceProfile] = {}
    if not folder.is_dir():
        return profiles
    for path in sorted(folder.glob("*.toml")):
        data = _load_toml(path)
        for key, value in data.items():
            if key != "speaker" and not isinstance(value, dict):
                raise InputError(f"field {key!r}: only 'speaker' and one [engine] table per "
                                 "engine belong in a voice profile", path)
        table = _table(data, path, "", set(data))
        speaker = table.required_text("speaker").strip()
        if speaker in profiles:
            raise InputError(
                f"host {speaker!r} already has a profile in {profiles[speaker].path.name}", path
            )
        # engine tables are checked against the engine registry by the speech stage
        engines = {name: table.table(name) for name in data if name != "speaker"}
        profiles[speaker] = VoiceProfile(path.stem, speaker, path, engines)
    return profiles
