"""The episode record: everything published about one episode, as ``episode.json``.

The record is the publish stage's typed object. Pages, notes, transcripts, the feed and the
CLI read its attributes; only this module knows the JSON layout. Older files are upgraded
as they are read (``version`` says which layout a file has), so a show published by an
earlier duopod keeps working.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import DuopodError
from ..mix.timeline import Timeline
from ..text.written import WrittenSummary

RECORD_VERSION = 3
"""1: the first layout; 2: notes and description_html; 3: typed, engine always present,
lifecycle fields (status, season, episode type, image, explicit)."""


class RecordError(DuopodError):
    """An ``episode.json`` that cannot be read as a record."""


@dataclass(frozen=True)
class AudioFile:
    file: str
    bytes: int
    mime: str = "audio/mpeg"
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None


@dataclass(frozen=True)
class Notes:
    key_points: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    written: WrittenSummary | None = None
    """A language model's summary of the article (``duopod.draft.write_notes``)."""


@dataclass(frozen=True)
class SourceArticle:
    """The article an episode discusses, cleaned for publishing."""

    title: str | None = None
    provider: str | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Transcripts:
    vtt: str = "transcript.vtt"
    srt: str = "transcript.srt"
    json: str = "transcript.json"


@dataclass(frozen=True)
class Soundbite:
    """A moment worth hearing (podcast:soundbite): seconds from the episode's start."""

    start: float
    duration: float
    title: str


@dataclass(frozen=True)
class Rendition:
    """An extra encoding of the episode beside its MP3 (show.toml ``[feed] renditions``),
    listed in the feed as a podcast:alternateEnclosure."""

    file: str
    bytes: int
    mime: str
    codecs: str
    bitrate: int
    """Bits per second, as the encoder was asked (the namespace's ``bitrate``)."""
    title: str


@dataclass(frozen=True)
class EpisodeRecord:
    guid: str
    slug: str
    script: str
    """The script's path relative to the show (how a rebuild finds its episode)."""
    title: str
    date: dt.date
    published: dt.datetime
    number: int
    hosts: tuple[str, ...]
    language: str
    duration: float
    audio: AudioFile
    engine: str
    description: str
    """Plain text for podcast apps: the summary, else the key points."""
    description_html: str = ""
    category: str | None = None
    summary: str | None = None
    notes: Notes = field(default_factory=Notes)
    transcripts: Transcripts = field(default_factory=Transcripts)
    chapters_file: str = "chapters.json"
    source: SourceArticle | None = None
    timeline: Timeline | None = None
    """None in records loaded for the site and feed, which need no timeline."""
    status: str = "published"
    """``draft``: built and previewed, never listed."""
    season: int | None = None
    episode_type: str = "full"
    image: str | None = None
    """The episode's own art, a file in its folder."""
    explicit: bool | None = None
    """None: the show's setting."""
    soundbites: tuple[Soundbite, ...] = ()
    """Chosen at build from the key points' sentences (``soundbites.choose``)."""
    renditions: tuple[Rendition, ...] = ()
    translation_of: str | None = None
    """The slug of the episode this one is a version of, in another language (front matter
    ``translation_of:``, written by ``duopod translate``)."""
    guests: tuple[str, ...] = ()
    """Who spoke besides the hosts (podcast:person role="guest")."""
    ai_content: tuple[str, ...] = ()
    """What of the episode machines made, one line each ("words: <model>", "notes: <model>",
    "voices: kokoro"); any makes the feed's podcast:txt purpose="ai-content" true."""

    def listed(self, now: dt.datetime) -> bool:
        """Does the episode belong in the feed and the index at ``now``? Not a draft, and
        its publication time has come."""
        return self.status == "published" and self.published <= now

    def sort_key(self) -> tuple[str, int, int, str]:
        """Publication order (newest last); at one moment, by season, then number (seasons
        number apart)."""
        return (self.published.isoformat(), self.season or 0, self.number, self.slug)

    def light(self) -> EpisodeRecord:
        """Without the timeline and the source text: what listing pages and the feed need,
        so thousands of records fit in memory."""
        source = replace(self.source, text=None) if self.source else None
        return replace(self, timeline=None, source=source)

    # ---------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "guid": self.guid,
            "slug": self.slug,
            "script": self.script,
            "title": self.title,
            "date": self.date.isoformat(),
            "published": self.published.isoformat(),
            "episode": self.number,
            "category": self.category,
            "summary": self.summary,
            "notes": {"key_points": list(self.notes.key_points),
                      "keywords": list(self.notes.keywords),
                      **({"written": self.notes.written.to_json()} if self.notes.written
                         else {})},
            "description": self.description,
            "description_html": self.description_html,
            "hosts": list(self.hosts),
            **({"guests": list(self.guests)} if self.guests else {}),
            **({"ai_content": list(self.ai_content)} if self.ai_content else {}),
            "language": self.language,
            "duration": round(self.duration, 3),
            "engine": self.engine,
            "audio": {"file": self.audio.file, "bytes": self.audio.bytes,
                      "mime": self.audio.mime, "loudness_lufs": self.audio.loudness_lufs,
                      "true_peak_dbtp": self.audio.true_peak_dbtp},
            "transcripts": {"vtt": self.transcripts.vtt, "srt": self.transcripts.srt,
                            "json": self.transcripts.json},
            "chapters_file": self.chapters_file,
            "source": None if self.source is None else {
                "title": self.source.title, "provider": self.source.provider,
                "author": self.source.author, "date": self.source.date,
                "url": self.source.url, "text": self.source.text,
            },
            "timeline": self.timeline.to_dict() if self.timeline is not None else None,
            "status": self.status,
            "season": self.season,
            "episode_type": self.episode_type,
            "image": self.image,
            "explicit": self.explicit,
            **({"soundbites": [{"start": b.start, "duration": b.duration, "title": b.title}
                               for b in self.soundbites]} if self.soundbites else {}),
            **({"renditions": [{"file": r.file, "bytes": r.bytes, "mime": r.mime,
                                "codecs": r.codecs, "bitrate": r.bitrate, "title": r.title}
                               for r in self.renditions]} if self.renditions else {}),
            **({"translation_of": self.translation_of} if self.translation_of else {}),
        }

    def to_json(self) -> str:
        # allow_nan=False: a NaN or infinity never reaches a record (it is not JSON)
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, text: str, *, light: bool = False) -> EpisodeRecord:
        """Read ``episode.json`` of any version; ``light`` skips the timeline and source
        text (see ``light()``). RecordError says what is wrong."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RecordError(f"not valid JSON ({exc})") from None
        return cls.from_dict(data, light=light)

    @classmethod
    def from_dict(cls, data: Any, *, light: bool = False) -> EpisodeRecord:
        if not isinstance(data, dict):
            raise RecordError(f"expected a JSON object, found {type(data).__name__}")
        try:
            return _from_dict(upgrade(data), light)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # wrong JSON types
            name = exc.args[0] if isinstance(exc, KeyError) else exc
            what = f"missing field {name!r}" if isinstance(exc, KeyError) else str(exc)
            raise RecordError(f"not a duopod episode record: {what}") from None


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older record's dict to the current layout (a copy)."""
    data = dict(data)
    version = data.get("version", 1)
    if not isinstance(version, int) or version > RECORD_VERSION:
        raise ValueError(f"record version {version!r} is newer than this duopod understands")
    if version < 2:
        data.setdefault("summary", None)
        data.setdefault("category", None)
        data.setdefault("notes", {"key_points": [], "keywords": []})
        data.setdefault("description_html", data.get("description", ""))
    if version < 3:
        data.setdefault("engine", "espeak")  # version 2 built before the engine was recorded
    data["version"] = RECORD_VERSION
    return data


def _text(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} must be text")
    return value


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"field {key!r} must be text")
    return value


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


MAX_DURATION = 7 * 24 * 3600.0
"""Seconds: no episode lasts a week; a larger duration is a corrupt record."""
MAX_NUMBER = 1_000_000
"""Episode and season numbers above this are corrupt (``itunes:episode`` is a small count)."""
MAX_AUDIO_BYTES = 1 << 40


def _number(value: Any, key: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite number within [low, high]: NaN, infinities and absurd values are corrupt
    records, refused when read rather than carried into the feed and pages."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"field {key!r} must be a number")
    if isinstance(value, int) and not low <= value <= high:  # 10**30 overflows float()
        raise ValueError(f"field {key!r} must be between {low:g} and {high:g}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"field {key!r} must be a finite number between {low:g} and {high:g}")
    return number


def _whole(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"field {key!r} must be a whole number")
    if not low <= value <= high:
        raise ValueError(f"field {key!r} must be between {low} and {high}")
    return value


def _optional_number(data: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = data.get(key)
    return None if value is None else _number(value, key, low, high)


def _from_dict(data: dict[str, Any], light: bool) -> EpisodeRecord:
    audio = data["audio"]
    notes = data.get("notes") or {}
    transcripts = data.get("transcripts") or {}
    source = data.get("source")
    number = _whole(data["episode"], "episode", 0, MAX_NUMBER)
    size = _whole(audio["bytes"], "audio.bytes", 0, MAX_AUDIO_BYTES)
    timeline = data.get("timeline")
    return EpisodeRecord(
        guid=_text(data, "guid"),
        slug=_text(data, "slug"),
        script=_text(data, "script"),
        title=_text(data, "title"),
        date=dt.date.fromisoformat(_text(data, "date")),
        published=_moment(_text(data, "published")),
        number=number,
        hosts=tuple(str(h) for h in data.get("hosts", [])),
        guests=tuple(str(g) for g in data.get("guests", [])),
        ai_content=tuple(str(a) for a in data.get("ai_content", [])),
        language=_text(data, "language"),
        duration=_number(data["duration"], "duration", 0.0, MAX_DURATION),
        audio=AudioFile(
            file=_text(audio, "file"), bytes=size, mime=audio.get("mime", "audio/mpeg"),
            loudness_lufs=_optional_number(audio, "loudness_lufs", -200.0, 50.0),
            true_peak_dbtp=_optional_number(audio, "true_peak_dbtp", -200.0, 50.0),
        ),
        engine=_text(data, "engine"),
        description=_text(data, "description"),
        description_html=_optional_text(data, "description_html") or "",
        category=_optional_text(data, "category"),
        summary=_optional_text(data, "summary"),
        notes=Notes(tuple(notes.get("key_points", [])), tuple(notes.get("keywords", [])),
                    WrittenSummary.from_json(notes.get("written"))),
        transcripts=Transcripts(**{k: str(v) for k, v in transcripts.items()
                                   if k in ("vtt", "srt", "json")}),
        chapters_file=data.get("chapters_file") or "chapters.json",
        source=None if not source else SourceArticle(
            title=source.get("title"), provider=source.get("provider"),
            author=source.get("author"), date=source.get("date"), url=source.get("url"),
            text=None if light else source.get("text"),
        ),
        timeline=None if light or timeline is None else Timeline.from_dict(timeline),
        status=_choice(data, "status", ("published", "draft")),
        season=_optional_whole(data, "season"),
        episode_type=_choice(data, "episode_type", ("full", "trailer", "bonus")),
        image=_optional_text(data, "image"),
        explicit=_optional_flag(data, "explicit"),
        soundbites=tuple(Soundbite(_number(b["start"], "soundbites.start"),
                                   _number(b["duration"], "soundbites.duration"),
                                   str(b["title"])) for b in data.get("soundbites") or ()),
        renditions=tuple(_rendition(r) for r in data.get("renditions") or ()),
        translation_of=_optional_text(data, "translation_of"),
    )


def _rendition(data: dict[str, Any]) -> Rendition:
    return Rendition(file=_text(data, "file"),
                     bytes=_whole(data["bytes"], "renditions.bytes", 0, MAX_AUDIO_BYTES),
                     mime=_text(data, "mime"), codecs=_text(data, "codecs"),
                     bitrate=_whole(data["bitrate"], "renditions.bitrate", 1, 10_000_000),
                     title=_text(data, "title"))


def _choice(data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = data.get(key) or allowed[0]
    if value not in allowed:
        raise ValueError(f"field {key!r} must be one of {', '.join(allowed)}")
    return str(value)


def _optional_whole(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    return None if value is None else _whole(value, key, 0, MAX_NUMBER)


def _optional_flag(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"field {key!r} must be true or false")
    return value
