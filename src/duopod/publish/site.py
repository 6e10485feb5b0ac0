"""Stage 4, publish: an episode folder (audio, page, transcripts, chapters, episode.json)
and the site around it (feed.xml, index.html), each swapped into place whole."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2

from ..errors import DuopodError, InputError
from ..files import readable_by_all, write_atomically
from ..mix.timeline import Timeline
from ..script.model import Script
from ..speech.cache import JsonCache, content_key
from ..workspace import Workspace
from . import transcripts
from .feed import build_feed
from .markdown import http_url, markdown_text
from .notes import NOTES_VERSION, ShowNotes, clean_article, show_notes

EPISODE_FILE = "episode.json"
RECORD_VERSION = 2


# ---------------------------------------------------------------- templates


def template_environment(workspace: Workspace, markdown: bool = False) -> jinja2.Environment:
    """HTML and XML templates autoescape; Markdown ones escape Markdown syntax (links,
    images, raw HTML) but not quotes, and offer ``http_url`` for the one link they print."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(workspace.templates_dir),
        autoescape=not markdown,  # noqa: S701 (Markdown output is escaped by finalize)
        finalize=_markdown_text if markdown else None,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = clock
    env.filters["http_url"] = http_url
    return env


def _markdown_text(value: Any) -> str:
    return markdown_text(value)


def clock(seconds: float) -> str:
    """m:ss or h:mm:ss, for people."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render_template(workspace: Workspace, name: str, **context: Any) -> str:
    env = template_environment(workspace, markdown=name.endswith(".md"))
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        path = Path(exc.filename) if exc.filename else workspace.templates_dir / name
        raise InputError(f"template error: {exc.message}", path, exc.lineno) from None
    except jinja2.TemplateNotFound:
        raise InputError(f"template {name!r} not found in {workspace.templates_dir}") from None
    except jinja2.UndefinedError as exc:
        raise InputError(f"template {name!r}: {exc.message}",
                         workspace.templates_dir / name) from None


# ---------------------------------------------------------------- episode records


_HEAVY_FIELDS = ("timeline", "source")


def load_records(workspace: Workspace) -> list[dict[str, Any]]:
    """Every published episode's record without its timeline and source text (the site
    pages and the feed need neither), newest first. Dropping them as each file is read
    keeps memory flat, so the rebuild stays linear in the number of episodes."""
    records = []
    folder = workspace.episodes_dir
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob(f"*/{EPISODE_FILE}")):
        if path.parent.name.startswith("."):
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DuopodError(f"{path}: unreadable episode record ({exc})") from exc
        for name in _HEAVY_FIELDS:
            record.pop(name, None)
        records.append(upgrade_record(record))
    records.sort(key=_newest_first, reverse=True)
    return records


def upgrade_record(record: dict[str, Any]) -> dict[str, Any]:
    """Fill in what records written by earlier versions of duopod lack."""
    record.setdefault("summary", None)
    record.setdefault("category", None)
    record.setdefault("notes", {"key_points": [], "keywords": []})
    record.setdefault("description_html", record.get("description", ""))
    record["version"] = RECORD_VERSION
    return record


def existing_record(workspace: Workspace, slug: str) -> dict[str, Any] | None:
    path = workspace.episodes_dir / slug / EPISODE_FILE
    if not path.is_file():
        return None
    try:
        return upgrade_record(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


Records = list[dict[str, Any]]


def record_for_script(workspace: Workspace, script: Script, records: Records | None = None
                      ) -> dict[str, Any] | None:
    """The published episode this script made before (whatever its slug is now).
    ``records`` saves reading every episode again when the caller has them."""
    ours = script_id(workspace, script.path)
    records = load_records(workspace) if records is None else records
    return next((r for r in records if r.get("script") == ours), None)


def settle_identity(workspace: Workspace, script: Script, force: bool = False,
                    records: Records | None = None) -> Script:
    """An episode keeps its slug (so its URLs) when its script is retitled, unless the
    front matter names a new slug; a slug another script published is refused."""
    previous = record_for_script(workspace, script, records)
    if previous and not script.meta.slug_given and previous["slug"] != script.meta.slug:
        script = replace(script, meta=replace(script.meta, slug=previous["slug"]))
    owner = existing_record(workspace, script.meta.slug)
    ours = script_id(workspace, script.path)
    if owner and owner.get("script") and owner["script"] != ours and not force:
        raise InputError(
            f"slug {script.meta.slug!r} already belongs to the episode built from "
            f"{owner['script']}; set another 'slug:' in the front matter or pass --force",
            script.path, 1,
        )
    return script


def script_id(workspace: Workspace, path: Path) -> str:
    resolved = path.resolve()
    with contextlib.suppress(ValueError):
        return resolved.relative_to(workspace.root).as_posix()
    return resolved.as_posix()


def episode_notes(workspace: Workspace, script: Script, timeline: Timeline) -> ShowNotes:
    """Key points and keywords, cached by the text they come from: jieba's dictionary takes
    a second to load, and an unchanged script (a re-mix) needs no new notes."""
    sentences = [s.text for turn in timeline.turns for s in turn.sentences]
    cache = JsonCache(workspace.cache_dir / "notes")
    key = content_key(NOTES_VERSION, script.meta.summary, sentences, script.meta.hosts)
    hit = cache.get(key)
    if hit is not None:
        return ShowNotes(hit["summary"], hit["key_points"], hit["keywords"])
    notes = show_notes(script.meta.summary, sentences, script.meta.hosts)
    cache.put(key, {"summary": notes.summary, "key_points": notes.key_points,
                    "keywords": notes.keywords})
    return notes


def description(notes: ShowNotes) -> str:
    """The plain-text description podcast apps show: the summary, else the key points."""
    text = notes.summary or " ".join(notes.key_points)
    return text if len(text) <= 3900 else text[:3899] + "…"


def episode_record(
    workspace: Workspace, script: Script, timeline: Timeline, audio: Path,
    loudness: dict[str, float], notes: ShowNotes, records: Records | None = None,
) -> dict[str, Any]:
    meta = script.meta
    records = load_records(workspace) if records is None else records
    previous = (existing_record(workspace, meta.slug)
                or record_for_script(workspace, script, records) or {})
    number = meta.episode_number or previous.get("episode") or (
        max((r["episode"] for r in records), default=0) + 1
    )
    guid = previous.get("guid") or str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"{workspace.show.base_url}/{meta.slug}/")
    )
    published = dt.datetime.combine(meta.date, dt.time(6, 0), tzinfo=dt.UTC)
    source = meta.source
    record = {
        "version": RECORD_VERSION,
        "guid": guid,
        "slug": meta.slug,
        "script": script_id(workspace, script.path),
        "title": meta.title,
        "date": meta.date.isoformat(),
        "published": published.isoformat(),
        "episode": number,
        "category": meta.category,
        "summary": meta.summary,
        "notes": {"key_points": notes.key_points, "keywords": notes.keywords},
        "description": description(notes),
        "hosts": list(meta.hosts),
        "language": workspace.show.language,
        "duration": round(timeline.duration, 3),
        "audio": {"file": audio.name, "bytes": audio.stat().st_size, "mime": "audio/mpeg",
                  **loudness},
        "transcripts": {"vtt": "transcript.vtt", "srt": "transcript.srt",
                        "json": "transcript.json"},
        "chapters_file": "chapters.json",
        "source": None if source is None else {
            "title": source.title, "provider": source.provider, "author": source.author,
            "date": source.date.isoformat() if source.date else None, "url": source.url,
            "text": clean_article(source.text) if source.text else None,
        },
        "timeline": timeline.to_dict(),
    }
    record["description_html"] = render_template(
        workspace, "notes.html", show=workspace.show, episode=record)
    return record


# ---------------------------------------------------------------- writing


def staging_dir(workspace: Workspace, slug: str) -> Path:
    workspace.episodes_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-{slug}-",
                                   dir=workspace.episodes_dir))
    readable_by_all(folder)
    return folder


def related_episodes(record: dict[str, Any], others: list[dict[str, Any]], count: int = 3
                     ) -> list[dict[str, Any]]:
    """Episodes sharing the most keywords (then the category), newest first on ties."""
    mine = set(record.get("notes", {}).get("keywords", []))
    scored = []
    for other in others:
        if other["slug"] == record["slug"]:
            continue
        shared = len(mine & set(other.get("notes", {}).get("keywords", [])))
        same_category = bool(record.get("category")) and other.get("category") == record.get(
            "category")
        score = shared * 2 + same_category
        if score:
            scored.append((score, other["published"], other))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [other for _score, _published, other in scored[:count]]


def neighbours(record: dict[str, Any], records: list[dict[str, Any]]
               ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(previous, next) episodes in publication order; ``records`` is newest first."""
    ordered = [r for r in records if r["slug"] != record["slug"]]
    key = _newest_first(record)
    older = [r for r in ordered if _newest_first(r) < key]
    newer = [r for r in ordered if _newest_first(r) > key]
    return (older[0] if older else None), (newer[-1] if newer else None)


def render_episode_page(workspace: Workspace, record: dict[str, Any],
                        records: list[dict[str, Any]]) -> str:
    timeline = Timeline.from_dict(record["timeline"])
    previous, following = neighbours(record, records)
    return render_template(
        workspace, "episode.html", show=workspace.show, episode=record, timeline=timeline,
        related=related_episodes(record, records), previous=previous, next=following,
    )


def write_episode_files(workspace: Workspace, folder: Path, record: dict[str, Any],
                        records: Records | None = None) -> None:
    """Everything but the audio, into ``folder`` (a staging folder); ``records`` are the
    episodes published so far."""
    timeline = Timeline.from_dict(record["timeline"])
    records = load_records(workspace) if records is None else records
    others = [r for r in records
              if r["slug"] != record["slug"] and r.get("script") != record["script"]]
    summary = {k: v for k, v in record.items() if k not in _HEAVY_FIELDS}
    records = sorted([*others, summary], key=_newest_first, reverse=True)
    files = {
        "transcript.vtt": transcripts.to_vtt(timeline),
        "transcript.srt": transcripts.to_srt(timeline),
        "transcript.json": transcripts.to_json(timeline),
        "chapters.json": transcripts.chapters_json(timeline),
        "index.html": render_episode_page(workspace, record, records),
        "notes.md": render_template(workspace, "notes.md", show=workspace.show,
                                    episode=record),
        EPISODE_FILE: json.dumps(record, ensure_ascii=False, indent=1),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _newest_first(record: dict[str, Any]) -> tuple:
    return (record["published"], record["episode"], record["slug"])


def refresh_pages(workspace: Workspace, slugs: set[str], records: list[dict[str, Any]]) -> None:
    """Render these episodes' pages again (their neighbours or related episodes changed)."""
    for slug in slugs:
        path = workspace.episodes_dir / slug / EPISODE_FILE
        try:
            record = upgrade_record(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        page = render_episode_page(workspace, record, records)
        write_atomically(path.parent / "index.html", page.encode("utf-8"))


def publish_site(workspace: Workspace, changed: str | None = None, *,
                 all_pages: bool = False) -> list[dict[str, Any]]:
    """Rebuild feed.xml and index.html from the episode records; returns the records.

    ``changed`` (a slug just published) also refreshes its neighbours' pages, whose
    previous/next links point at it; ``all_pages`` refreshes every episode page.
    """
    records = load_records(workspace)
    folder = workspace.episodes_dir
    folder.mkdir(parents=True, exist_ok=True)
    if workspace.show.cover is not None:
        cover_target = folder / workspace.show.cover.name
        cover = workspace.show.cover.read_bytes()
        if not cover_target.exists() or cover_target.read_bytes() != cover:
            write_atomically(cover_target, cover)
    page = render_template(workspace, "site.html", show=workspace.show, episodes=records)
    write_feed(workspace, records)
    write_atomically(folder / "index.html", page.encode("utf-8"))
    if all_pages:
        refresh_pages(workspace, {r["slug"] for r in records}, records)
    elif changed is not None:
        mine = next((r for r in records if r["slug"] == changed), None)
        if mine is not None:
            around = {r["slug"] for r in neighbours(mine, records) if r is not None}
            refresh_pages(workspace, around, records)
    return records


def write_feed(workspace: Workspace, records: list[dict[str, Any]] | None = None) -> Path:
    """Rebuild only feed.xml."""
    records = load_records(workspace) if records is None else records
    path = workspace.episodes_dir / "feed.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, build_feed(workspace.show, records))
    return path
