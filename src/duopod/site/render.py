"""The site around the episodes: each episode's folder of files (page, notes, transcripts,
chapters, record), the index page, related and adjacent episodes, and the feed, each
written whole (atomic writes, or a folder swapped into place)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from pathlib import Path
from typing import TypeGuard
from zoneinfo import ZoneInfo

from ..disk.atomic import content_name, write_atomically
from ..disk.jsoncache import JsonCache, content_key
from ..mix.encode import Measurement
from ..mix.timeline import Timeline
from ..script.model import Script
from ..show.workspace import ShowConfig, Workspace
from ..text.notes import NOTES_VERSION, ShowNotes, clean_article, show_notes
from . import transcripts
from .art import cover_sizes
from ..store.episodes import (
    EPISODE_FILE,
    Listing,
    Records,
    existing_record,
    load_listing,
    load_records,
    read_record,
    record_for_script,
    remembered_record,
    script_id,
)
from .feed import build_feed, feed_url, podcast_guid, published_guid
from ..store.kept import KeptItem, current_items
from .languages import write_language_feeds
from ..store.numbering import UNNUMBERED, new_guid, number_for, unpublished_records, with_numbers
from ..store.record import AudioFile, EpisodeRecord, Notes, RecordError, SourceArticle
from .soundbites import choose as choose_soundbites
from .templates import render_template
from .versions import feed_of, versions_of


def episode_notes(workspace: Workspace, script: Script, timeline: Timeline) -> ShowNotes:
    """Key points and keywords, cached by the text they come from: jieba's dictionary takes
    a second to load, and an unchanged script (a re-mix) needs no new notes."""
    sentences = [s.text for turn in timeline.turns for s in turn.sentences]
    cache = JsonCache(workspace.cache_dir / "notes")
    exclude = (workspace.show.title,)
    key = content_key(NOTES_VERSION, script.meta.summary, sentences, script.meta.hosts, exclude)
    hit = _cached_notes(cache.get(key))
    if hit is not None:
        return hit
    notes = show_notes(script.meta.summary, sentences, script.meta.hosts, exclude=exclude)
    cache.put(key, {"summary": notes.summary, "key_points": notes.key_points,
                    "keywords": notes.keywords})
    return notes


def _cached_notes(value: object) -> ShowNotes | None:
    """A cache entry as notes; an entry of another shape reads as missing."""
    if not isinstance(value, dict):
        return None
    summary, points, keywords = (value.get("summary"), value.get("key_points"),
                                 value.get("keywords"))
    if summary is not None and not isinstance(summary, str):
        return None
    if not _strings(points) or not _strings(keywords):
        return None
    return ShowNotes(summary, points, keywords)


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def description(notes: ShowNotes) -> str:
    """The plain-text description podcast apps show: the summary, else the key points."""
    text = notes.summary or " ".join(notes.key_points)
    return text if len(text) <= 3900 else text[:3899] + "…"


def _source(script: Script, show: ShowConfig) -> SourceArticle | None:
    """The source as published: its text cleaned, and only as much of it as the show's
    ``source_appendix`` allows (the record is public too)."""
    source = script.meta.source
    if source is None:
        return None
    return SourceArticle(
        title=source.title, provider=source.provider, author=source.author,
        date=source.date.isoformat() if source.date else None, url=source.url,
        text=_appendix(clean_article(source.text), show) if source.text else None,
    )


def _appendix(text: str, show: ShowConfig) -> str | None:
    if show.source_appendix == "link":
        return None
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if show.source_appendix == "excerpt":
        paragraphs = paragraphs[: show.source_excerpt_paragraphs]
    return "\n".join(paragraphs) or None


def episode_image_name(image: Path | None) -> str | None:
    return content_name(image) if image is not None else None


def publication_time(script: Script, show: ShowConfig) -> dt.datetime:
    """When the episode goes out: ``publish_at``, else its date at the script's (or the
    show's) time of day in the show's time zone; always stored in UTC."""
    life = script.meta.lifecycle
    if life.publish_at is not None:
        return life.publish_at.astimezone(dt.UTC)
    local = dt.datetime.combine(script.meta.date, life.time or show.publish_time,
                                tzinfo=ZoneInfo(show.timezone))
    return local.astimezone(dt.UTC)


RULE_BASED_VOICES = frozenset({"espeak"})
"""Engines whose voices are rules, not a trained model: espeak-ng's formant synthesis
sounds like no one and is not AI-generated content. Every other engine (kokoro, edge's
neural voices, OpenAI's, a plug-in's) is taken to be a neural voice."""


def ai_content(script: Script, notes: ShowNotes, engine: str, show: ShowConfig
               ) -> tuple[str, ...]:
    """What of the episode a model made: its words (front matter ``written_by``, from
    ``duopod draft`` or ``translate``), its written notes, and (``show.toml``
    ``disclose_synthetic_voices``, on by default) its voices when they are neural."""
    made = []
    if script.meta.written_by:
        made.append(f"words: {script.meta.written_by}")
    if notes.written is not None:
        made.append(f"notes: {notes.written.model or 'a language model'}")
    if show.disclose_synthetic_voices and engine not in RULE_BASED_VOICES:
        made.append(f"voices: {engine}")
    return tuple(made)


def episode_record(
    workspace: Workspace, script: Script, timeline: Timeline, audio: Path,
    measurement: Measurement, notes: ShowNotes, engine: str, records: Records | None = None,
) -> EpisodeRecord:
    """The record of the episode ``script`` makes now: a new one, or the published one's
    successor (same GUID and number)."""
    meta = script.meta
    records = load_records(workspace) if records is None else records
    previous = (existing_record(workspace, meta.slug)
                or record_for_script(workspace, script, records)
                or remembered_record(workspace, script))
    reserved = [*records, *unpublished_records(workspace)]
    guid = previous.guid if previous else new_guid(workspace.show.base_url, meta.slug,
                                                   reserved)
    record = EpisodeRecord(
        guid=guid,
        slug=meta.slug,
        script=script_id(workspace, script.path),
        title=meta.title,
        date=meta.date,
        published=publication_time(script, workspace.show),
        number=UNNUMBERED,
        hosts=tuple(meta.hosts),
        language=meta.lifecycle.language or workspace.show.language,
        duration=round(timeline.duration, 3),
        audio=AudioFile(audio.name, audio.stat().st_size, "audio/mpeg",
                        measurement.loudness_lufs, measurement.true_peak_dbtp),
        engine=engine,
        description=description(notes),
        category=meta.category,
        summary=meta.summary,
        notes=Notes(tuple(notes.key_points), tuple(notes.keywords), notes.written),
        source=_source(script, workspace.show),
        timeline=timeline,
        status=meta.lifecycle.status,
        season=meta.lifecycle.season,
        episode_type=meta.lifecycle.episode_type,
        image=episode_image_name(meta.lifecycle.image),
        explicit=meta.lifecycle.explicit,
        soundbites=choose_soundbites(timeline, notes.key_points),
        translation_of=meta.lifecycle.translation_of,
        guests=tuple(meta.guests),
        ai_content=ai_content(script, notes, engine, workspace.show),
    )
    others = [r for r in reserved if r.guid != guid]
    record = replace(record, number=number_for(record, previous, meta.episode_number, others,
                                               dt.datetime.now(dt.UTC)))
    html = render_template(workspace, "notes.html", show=workspace.show, episode=record)
    return replace(record, description_html=html)


# ---------------------------------------------------------------- episode folders


def related_episodes(record: EpisodeRecord, others: Records, count: int = 3) -> Records:
    """Episodes sharing the most keywords (then the category), newest first on ties."""
    mine = set(record.notes.keywords)
    scored = []
    for other in others:
        if other.slug == record.slug:
            continue
        shared = len(mine & set(other.notes.keywords))
        same_category = bool(record.category) and other.category == record.category
        score = shared * 2 + same_category
        if score:
            scored.append((score, other.published, other))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [other for _score, _published, other in scored[:count]]


def neighbours(record: EpisodeRecord, records: Records
               ) -> tuple[EpisodeRecord | None, EpisodeRecord | None]:
    """(previous, next) episodes in publication order; ``records`` is newest first."""
    ordered = [r for r in records if r.slug != record.slug]
    key = record.sort_key()
    older = [r for r in ordered if r.sort_key() < key]
    newer = [r for r in ordered if r.sort_key() > key]
    return (older[0] if older else None), (newer[-1] if newer else None)


def render_episode_page(workspace: Workspace, record: EpisodeRecord, records: Records) -> str:
    """An episode's page; its previous/next and related links name only episodes that are
    in the feed now (a draft or an episode not yet due is linked from nothing public)."""
    public = listed(records)
    previous, following = neighbours(record, public)
    return render_template(
        workspace, "episode.html", show=workspace.show, episode=record,
        timeline=record.timeline, related=related_episodes(record, public),
        previous=previous, next=following, versions=versions_of(record, public),
        feed=feed_of(record, public, workspace.show.language),
    )


def write_episode_files(workspace: Workspace, folder: Path, record: EpisodeRecord,
                        records: Records | None = None) -> None:
    """Everything but the audio, into ``folder`` (a staging folder); ``records`` are the
    episodes published so far."""
    timeline = record.timeline
    if timeline is None:
        raise ValueError("an episode's files are written from its whole record")
    records = load_records(workspace) if records is None else records
    others = [r for r in records if r.slug != record.slug and r.script != record.script]
    records = sorted([*others, record.light()], key=EpisodeRecord.sort_key, reverse=True)
    files = {
        "transcript.vtt": transcripts.to_vtt(timeline),
        "transcript.srt": transcripts.to_srt(timeline),
        "transcript.json": transcripts.to_json(timeline),
        "chapters.json": transcripts.chapters_json(timeline),
        "index.html": render_episode_page(workspace, record, records),
        "notes.md": render_template(workspace, "notes.md", show=workspace.show,
                                    episode=record),
        EPISODE_FILE: record.to_json(),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- the site


def refresh_pages(workspace: Workspace, slugs: set[str], records: Records) -> None:
    """Render these episodes' pages again (their neighbours or related episodes changed)."""
    for slug in slugs:
        path = workspace.episodes_dir / slug / EPISODE_FILE
        try:
            record = read_record(path)
        except RecordError:
            continue
        page = render_episode_page(workspace, record, records)
        write_atomically(path.parent / "index.html", page.encode("utf-8"))


def publish_site(workspace: Workspace, changed: str | None = None, *,
                 all_pages: bool = False, hide: frozenset[str] = frozenset(),
                 refresh: bool = False) -> Listing:
    """Rebuild feed.xml and index.html from the episode records; returns what was read,
    what is listed and the problems met (see ``load_listing``).

    ``changed`` (a slug just published) also refreshes its neighbours' pages, whose
    previous/next links point at it (and its own with ``refresh``: an episode that was
    pending until now); ``all_pages`` refreshes every episode page; the
    episode folders in ``hide`` are left out (one about to leave the site).
    """
    listing = load_listing(workspace, hide)
    everything = listing.records
    records = with_numbers(listed(everything),
                           [*listing.known, *unpublished_records(workspace)],
                           dt.datetime.now(dt.UTC))
    folder = workspace.episodes_dir
    folder.mkdir(parents=True, exist_ok=True)
    if workspace.show.cover is not None:
        cover_target = folder / content_name(workspace.show.cover)
        if not cover_target.exists():  # the name says what it holds: never rewritten
            write_atomically(cover_target, workspace.show.cover.read_bytes())
    page = render_template(workspace, "site.html", show=workspace.show, episodes=records)
    write_feed(workspace, listing, records)
    write_atomically(folder / "index.html", page.encode("utf-8"))
    if all_pages:
        refresh_pages(workspace, {r.slug for r in everything}, records)
    elif changed is not None:
        mine = next((r for r in records if r.slug == changed), None)
        if mine is not None:
            around = {r.slug for r in neighbours(mine, records) if r is not None}
            around |= {r.slug for r in versions_of(mine, records)}  # they link to it
            refresh_pages(workspace, around | ({changed} if refresh else set()), records)
    return listing


def check_listing(workspace: Workspace, listing: Listing, record: EpisodeRecord) -> None:
    """Render the index and the feed that will list ``record``, in memory, before its folder
    is swapped in: an episode whose listing cannot be written (a template error, a value no
    feed can carry) never lands on disk outside the feed. Raises what rendering raises."""
    others = [r for r in listing.records if r.slug != record.slug]
    records = with_numbers(listed([record, *others]),
                           [*listing.known, *unpublished_records(workspace)],
                           dt.datetime.now(dt.UTC))
    render_template(workspace, "site.html", show=workspace.show, episodes=records)
    build_feed(workspace.show, records, guid=show_guid(workspace))


def listed(records: Records, now: dt.datetime | None = None) -> Records:
    """The episodes that belong in the feed and the index now: no drafts, nothing whose
    publication time has not come (``duopod publish`` run later lists it)."""
    moment = now or dt.datetime.now(dt.UTC)
    return [r for r in records if r.listed(moment)]


def preview_records(workspace: Workspace, now: dt.datetime | None = None) -> Records:
    """What the preview feed lists: the public feed's episodes, and the pending ones (drafts,
    episodes not yet due) with their state before the title, ``[draft]`` or ``[scheduled
    2027-01-05 07:00 UTC]``, so that an app subscribed to the preview tells them apart.
    Pending episodes keep their enclosure (the preview is where a producer listens to a
    draft on a phone) and their GUID (the item becomes the published one in that app);
    they have no number yet, so the feed gives them none."""
    moment = now or dt.datetime.now(dt.UTC)
    listing = load_listing(workspace)
    public = with_numbers(listed(listing.records, moment),
                          [*listing.known, *unpublished_records(workspace)], moment)
    marked = [replace(r, title=f"{pending_mark(r, moment)} {r.title}") for r in listing.pending]
    return sorted([*public, *marked], key=EpisodeRecord.sort_key, reverse=True)


def pending_mark(record: EpisodeRecord, now: dt.datetime) -> str:
    if record.status == "draft":
        return "[draft]"
    if record.published > now:
        return f"[scheduled {record.published:%Y-%m-%d %H:%M} UTC]"
    return "[due]"  # its time has come; the next publish moves it into episodes/


def show_guid(workspace: Workspace) -> str:
    """The show's podcast:guid: pinned in show.toml, else the one its published feed already
    carries (assigned once for life, so moving base_url keeps it), else made now from the
    feed URL as the namespace says."""
    if workspace.show.guid:
        return workspace.show.guid
    kept = workspace.state_dir / SHOW_GUID_FILE
    try:
        remembered = kept.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        remembered = ""
    if _is_uuid(remembered):
        return remembered
    try:
        published = published_guid((workspace.episodes_dir / "feed.xml").read_bytes())
    except OSError:
        published = None
    guid = published or podcast_guid(feed_url(workspace.show))
    kept.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(kept, (guid + "\n").encode("ascii"))  # survives losing feed.xml
    return guid


SHOW_GUID_FILE = "show-guid"
"""In the state folder: the show's podcast:guid as first published, so that neither a
base_url move nor a lost feed.xml changes the show's identity."""


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def write_feed(workspace: Workspace, listing: Listing | None = None,
               records: Records | None = None) -> Listing:
    """Rebuild only feed.xml (``records`` are those listed; by default the ``listing``'s
    that are due). An episode that cannot be listed anew keeps the item the current feed
    has for it (apps delete episodes that vanish); its problem says so."""
    listing = load_listing(workspace) if listing is None else listing
    if records is None:
        records = with_numbers(listed(listing.records),
                               [*listing.known, *unpublished_records(workspace)],
                               dt.datetime.now(dt.UTC))
    listing.listed = records
    path = workspace.episodes_dir / "feed.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = keep_items(path, listing)
    show, guid = workspace.show, show_guid(workspace)
    art = cover_sizes(show.cover, path.parent) if show.cover is not None else []
    write_atomically(path, build_feed(show, listing.listed, guid=guid, kept=kept, art=art))
    write_language_feeds(path.parent, show, listing.listed, guid, art)
    return listing


def keep_items(feed: Path, listing: Listing) -> list[KeptItem]:
    """The current feed's items for the episodes in ``listing.problems``, each problem
    completed with what became of the episode in the feed."""
    items = current_items(feed, {p.slug for p in listing.problems if p.slug})
    taken = {r.guid for r in listing.listed}
    kept: list[KeptItem] = []
    for index, problem in enumerate(listing.problems):
        if problem.slug is None:
            continue
        item = items.get(problem.slug)
        if item is not None and item.guid not in taken and item not in kept:
            kept.append(item)
            outcome = "its item in the current feed is kept as it stands"
        else:
            outcome = "it is not listed in the feed"
        listing.problems[index] = replace(problem, message=f"{problem.message}; {outcome}")
    return kept
