"""Show notes written like the example page's report summary: a headline, the source's
author and date, ``###`` sections of ``*`` points, in the notes' language (configurable:
the example page's is English under a Chinese dialogue).

The model writes the headline and the points from the article (and the dialogue); the
byline comes from the script's ``source:``, never from the model. Every point goes through
the draft's grounding check: a point with a number, code, name or quote the article does not
have is left out and reported. Answers are cached like every chat answer (keyed by model,
prompt version and input), so a rebuild asks nothing. The result is the plain
``text.written.WrittenSummary`` that publish renders."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InputError
from ..script.model import Script
from ..show.workspace import Workspace
from ..text.notes import ShowNotes, clean_article
from ..text.written import WrittenSummary
from .checks import language_share, unsupported
from .model import ChatEngine
from .schema import JsonSchema
from .writer import PROMPT_VERSION, _ask, _closing, _language_name, clean_turn_text, run

NOTES_SCHEMA: JsonSchema = {
    "type": "object", "required": ["headline", "sections"],
    "properties": {
        "headline": {"type": "string", "maxLength": 120},
        "sections": {"type": "array", "minItems": 1, "maxItems": 5, "items": {
            "type": "object", "required": ["heading", "points"],
            "properties": {"heading": {"type": "string", "maxLength": 60},
                           "points": {"type": "array", "maxItems": 5, "items": {
                               "type": "string", "maxLength": 300}}}}}}}


@dataclass(frozen=True)
class WrittenNotes:
    summary: WrittenSummary
    dropped: tuple[str, ...]
    """Points left out: not grounded in the article, or not in the notes' language."""


def article_of(workspace: Workspace, script: Script) -> str:
    source = script.meta.source
    text = source.text if source else None
    if not text:
        raise InputError("written show notes need the script's source: file (the article)",
                         script.path)
    return clean_article(text)


async def write_notes_async(workspace: Workspace, script: Script, engine: ChatEngine,
                            language: str | None = None) -> WrittenNotes:
    article = article_of(workspace, script)
    language = language or script.meta.lifecycle.language or workspace.show.language
    dialogue = "\n".join(f"{t.speaker}: {t.text}" for t in script.turns)[:4000]
    system = (f"[{PROMPT_VERSION}/notes] You write the show notes of the podcast "
              f"{workspace.show.title!r} in {_language_name(language)}: a headline and up to "
              "five sections of short points, like a news report's summary. Use only facts, "
              "numbers, names and quotes from the article.")
    user = (f"Article:\n{article[:6000]}\n\nThe episode's dialogue:\n{dialogue}\n\n"
            "Write the notes: a headline, then sections (background, the details, the "
            "impact, what comes next) with their points.")
    value = await _ask(engine, "show notes", system, user, NOTES_SCHEMA, 1500, lambda v: v)
    dropped: list[str] = []
    sections = []
    allowed = " ".join([workspace.show.title, *script.hosts])
    for section in value["sections"]:
        points = []
        for raw in section["points"]:
            point = clean_turn_text(str(raw), ())
            if not point:
                continue
            if unsupported(point, article, allowed) or language_share(point, language) < 0.6:
                dropped.append(point)
                continue
            points.append(point)
        heading = clean_turn_text(str(section["heading"]), ())
        if points and heading:
            sections.append((heading, tuple(points)))
    headline = clean_turn_text(str(value["headline"]), ()) or script.meta.title
    if unsupported(headline, article, allowed):
        dropped.append(headline)
        headline = script.meta.title
    source = script.meta.source
    summary = WrittenSummary(
        headline=headline, sections=tuple(sections), language=language,
        author=(source.author or source.provider) if source else None,
        date=(source.date.isoformat() if source and source.date else
              script.meta.date.isoformat()),
        model=engine.model)
    return WrittenNotes(summary, tuple(dropped))


def write_notes(workspace: Workspace, script: Script, engine: ChatEngine,
                language: str | None = None) -> WrittenNotes:
    """The episode's written notes (blocking; runs its own event loop). ``language``: the
    notes' language (default: [writer] notes_language, else the episode's)."""
    return run(_closing(engine, write_notes_async(workspace, script, engine, language)))


def with_written(notes: ShowNotes, written: WrittenNotes | None) -> ShowNotes:
    """The extractive notes with the written summary beside them (what publish renders)."""
    return replace(notes, written=written.summary if written else None)
