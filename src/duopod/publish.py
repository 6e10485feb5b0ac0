"""Stage 4, publish: an episode folder (audio, page, transcripts, chapters, episode.json)
and the site around it (feed.xml, index.html), each swapped into place whole."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import jinja2

from . import transcripts
from .cache import readable_by_all, write_atomically
from .errors import DuopodError, InputError
from .feed import build_feed
from .model import Script, Timeline
from .workspace import Workspace

EPISODE_FILE = "episode.json"
RECORD_VERSION = 1


# ---------------------------------------------------------------- templates


def template_environment(workspace: Workspace) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(workspace.templates_dir),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = clock
    return env


def clock(seconds: float) -> str:
    """m:ss or h:mm:ss, for people."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render_template(workspace: Workspace, name: str, **context: Any) -> str:
    env = template_environment(workspace)
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
        records.append(record)
    records.sort(key=lambda r: (r["published"], r["episode"], r["slug"]), reverse=True)
    return records


def existing_record(workspace: Workspace, slug: str) -> dict[str, Any] | None:
    path = workspace.episodes_dir / slug / EPISODE_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def check_slug_owner(workspace: Workspace, script: Script, force: bool = False) -> None:
    """Refuse to overwrite an episode that a different script published under this slug."""
    record = existing_record(workspace, script.meta.slug)
    if record is None or force:
        return
    ours = _script_id(workspace, script.path)
    if record.get("script") and record["script"] != ours:
        raise InputError(
            f"slug {script.meta.slug!r} already belongs to the episode built from "
            f"{record['script']}; set another 'slug:' in the front matter or pass --force",
            script.path, 1,
        )


def _script_id(workspace: Workspace, path: Path) -> str:
    resolved = path.resolve()
    with contextlib.suppress(ValueError):
        return resolved.relative_to(workspace.root).as_posix()
    return resolved.as_posix()


def description(script: Script) -> str:
    if script.meta.summary:
        return script.meta.summary
    first = script.turns[0].text
    return first if len(first) <= 280 else first[:277] + "…"


def episode_record(
    workspace: Workspace, script: Script, timeline: Timeline, audio: Path,
    loudness: dict[str, float],
) -> dict[str, Any]:
    meta = script.meta
    previous = existing_record(workspace, meta.slug) or {}
    records = load_records(workspace)
    number = meta.episode_number or previous.get("episode") or (
        max((r["episode"] for r in records), default=0) + 1
    )
    guid = previous.get("guid") or str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"{workspace.show.base_url}/{meta.slug}/")
    )
    published = dt.datetime.combine(meta.date, dt.time(6, 0), tzinfo=dt.UTC)
    source = meta.source
    return {
        "version": RECORD_VERSION,
        "guid": guid,
        "slug": meta.slug,
        "script": _script_id(workspace, script.path),
        "title": meta.title,
        "date": meta.date.isoformat(),
        "published": published.isoformat(),
        "episode": number,
        "category": meta.category,
        "summary": meta.summary,
        "description": description(script),
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
            "text": source.text,
        },
        "timeline": timeline.to_dict(),
    }


# ---------------------------------------------------------------- writing


def staging_dir(workspace: Workspace, slug: str) -> Path:
    workspace.episodes_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".staging-{slug}-", dir=workspace.episodes_dir))
    readable_by_all(folder)
    return folder


def write_episode_files(workspace: Workspace, folder: Path, record: dict[str, Any]) -> None:
    """Everything but the audio, into ``folder`` (a staging folder)."""
    timeline = Timeline.from_dict(record["timeline"])
    files = {
        "transcript.vtt": transcripts.to_vtt(timeline),
        "transcript.srt": transcripts.to_srt(timeline),
        "transcript.json": transcripts.to_json(timeline),
        "chapters.json": transcripts.chapters_json(timeline),
        "index.html": render_template(
            workspace, "episode.html", show=workspace.show, episode=record, timeline=timeline,
            cues=transcripts.cues(timeline),
        ),
        EPISODE_FILE: json.dumps(record, ensure_ascii=False, indent=1),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging``: readers see the old folder or the new one."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def publish_site(workspace: Workspace) -> list[dict[str, Any]]:
    """Rebuild feed.xml and index.html from the episode records; returns the records."""
    records = load_records(workspace)
    folder = workspace.episodes_dir
    folder.mkdir(parents=True, exist_ok=True)
    if workspace.show.cover is not None:
        cover_target = folder / workspace.show.cover.name
        if not cover_target.exists() or (
            cover_target.stat().st_size != workspace.show.cover.stat().st_size
        ):
            write_atomically(cover_target, workspace.show.cover.read_bytes())
    feed = build_feed(workspace.show, records)
    page = render_template(workspace, "site.html", show=workspace.show, episodes=records)
    write_atomically(folder / "feed.xml", feed)
    write_atomically(folder / "index.html", page.encode("utf-8"))
    return records
