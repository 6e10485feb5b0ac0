"""``duopod translate``: a script becomes its version in another language, for the same
hosts (their voice profiles' language tables, docs/languages.md) and the show's feed in that
language (``publish.versions``).

The structure is not left to the model: duopod writes the script itself from the original's
parse, the same hosts, sections, turns and stage directions one for one, and asks the model
only for the words, one section at a time, as a JSON list of exactly as many strings as it
sent (title, summary and headings in one more request). Then every turn is checked like a
draft (``checks``): in the language asked; every number, product code and Latin name of the
original kept (a date's month may be written out); no number or code the original and its
article do not have; its stage directions (pauses, laughs) still there. Problems are listed
turn by turn in the front matter and in the ``.draft.json`` sidecar ``duopod check`` shows;
answers that cannot make the script one for one are one refusal and nothing is written.

The version's front matter says ``translation_of: <the original's slug>``, its own ``slug:``
(the original's with the language: ``...-en-us``), ``status: draft`` and the original's
source, so it is grounded against the same article and is built, linked and listed like
any episode.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError
from ..script.markup import spoken_text
from ..script.model import Script, Turn
from ..script.parse import parse_script
from ..show.workspace import Workspace
from .checks import (
    LANGUAGE_SHARE,
    Problem,
    claims,
    fold,
    is_chinese,
    language_share,
    unsupported,
)
from .model import ChatEngine
from .writer import (
    DraftRefused,
    _ask,
    _closing,
    _language_name,
    _write_new,
    host_languages,
    in_script_of,
    run,
    write_report,
)

PROMPT_VERSION = "translate/1"
"""Part of every cache key (in the prompts): bump when a prompt changes."""
MAX_TEXT_CHARS = 1200
"""The longest translation of one turn accepted (a model that loops is cut short)."""
_LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
_LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9]")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")


@dataclass(frozen=True)
class TranslateResult:
    script: Path
    sidecar: Path
    problems: list[Problem]
    turns: int
    sections: int


@dataclass(frozen=True)
class _Unit:
    """One text sent for translation: a turn (with its stage directions written back in
    brackets, so the model keeps them in place) or a title, summary or heading."""

    text: str
    turn: Turn | None = None


def translate_script(ws: Workspace, engine: ChatEngine, source: Path, language: str,
                     out: Path | None = None) -> TranslateResult:
    """Write ``source``'s version in ``language`` (``out``, else beside it as
    ``<stem>.<language>.md``); never over a file. InputError for bad input, DraftRefused
    (nothing written) when the model's answers cannot make the version one for one."""
    if not _LANGUAGE_TAG.match(language):
        raise InputError(f"--to must be a language tag like en-US or zh-CN, not {language!r}")
    script = parse_script(source, workspace=ws.root, known_hosts=tuple(ws.profiles))
    original = script.meta.lifecycle.language or ws.show.language
    if original.lower() == language.lower():
        raise InputError(f"the script is already in {original}", source)
    if script.meta.lifecycle.translation_of:
        raise InputError(f"the script is itself a version of "
                         f"{script.meta.lifecycle.translation_of!r}: translate the original",
                         source)
    check_hosts(ws, script, language)
    out = out or source.with_name(f"{source.stem}.{language}.md")
    if out.exists():
        raise InputError("exists; a translation never overwrites a file (choose --out)", out)
    words = run(_closing(engine, _translate(engine, ws, script, original, language)))
    article = (script.meta.source.text if script.meta.source else None) or ""
    problems = check_version(script, words.turns, language, article,
                             " ".join([ws.show.title, *script.hosts]))
    off = sum(1 for p in problems if p.check == "language" and p.turn)
    if script.turns and off >= len(script.turns):
        raise DraftRefused(f"the model's answers cannot be made into a translation: none of "
                           f"its {len(script.turns)} turns is in {language}")
    body = render_version(script, words, language, problems, out,
                          f"{engine.model} (duopod translate)")
    _write_new(out, body.encode(), ws)
    sidecar = out.with_suffix(".draft.json")
    report = {"prompt_version": PROMPT_VERSION, "model": engine.model,
              "translation_of": script.meta.slug, "language": language,
              "turns": len(script.turns),
              "problems": [{"turn": p.turn, "check": p.check, "message": p.message}
                           for p in problems]}
    write_report(ws, sidecar, report)
    return TranslateResult(out, sidecar, problems, len(script.turns), len(script.sections))


def check_hosts(ws: Workspace, script: Script, language: str) -> None:
    """InputError unless every host has a voice for ``language``: a default voice that
    speaks it, or a language table for it (``[espeak."en-US"]``, docs/languages.md)."""
    primary = "zh" if is_chinese(language) else language.lower().split("-")[0]
    for host in script.hosts:
        profile = ws.profiles.get(host)
        if profile is None:
            continue
        spoken = host_languages(ws, host)
        tables = [engine for engine in profile.engines
                  if profile.language_table(engine, language) is not None]
        if spoken and primary not in spoken and not tables:
            raise InputError(f"host {host!r} has no voice for {language}: add a "
                             f"[espeak.\"{language}\"] (or another engine's) table to "
                             f"{profile.path.name} (docs/languages.md)", profile.path)


# ---------------------------------------------------------------- asking


@dataclass(frozen=True)
class _Words:
    title: str
    summary: str | None
    headings: list[str]
    turns: list[str]
    """One per turn of the original, its stage directions in brackets."""


def with_directions(turn: Turn) -> str:
    """The turn's spoken text with its stage directions written back where they were."""
    text = turn.text
    for direction in sorted(turn.directions, key=lambda d: d.position, reverse=True):
        text = f"{text[:direction.position]}({direction.label}){text[direction.position:]}"
    return text


def translations_schema(count: int, max_length: int) -> dict[str, Any]:
    return {"type": "object", "required": ["translations"], "properties": {"translations": {
        "type": "array", "minItems": count, "maxItems": count,
        "items": {"type": "string", "maxLength": max_length}}}}


def _system(ws: Workspace, script: Script, original: str, language: str) -> str:
    return (f"[{PROMPT_VERSION}] You translate the podcast {ws.show.title!r}, a dialogue "
            f"between {' and '.join(script.hosts)}, from {_language_name(original)} into "
            f"{_language_name(language)}, for the same hosts to speak. Translate every text "
            "on its own, in order: never merge, split, drop or add one. Keep every number, "
            "product code, name and quote exactly; invent nothing. Keep stage directions in "
            "brackets, translated ((停顿) becomes (pause), (笑) becomes (laughs)). Keep the "
            "hosts' names as written.")


async def _ask_texts(engine: ChatEngine, purpose: str, system: str, texts: list[str],
                     language: str) -> list[str]:
    """The model's translation of each of ``texts``, as many as were sent."""
    longest = max(len(t) for t in texts)
    schema = translations_schema(len(texts), min(MAX_TEXT_CHARS, max(200, longest * 4)))
    user = (f"Translate each of these {len(texts)} texts into {_language_name(language)}. "
            "Answer with the list of translations, one for each text, in the same order.\n"
            f"TEXTS: {json.dumps(texts, ensure_ascii=False)}")
    max_tokens = min(8192, 64 + sum(len(t) for t in texts) * 6)
    try:
        answer = await _ask(engine, purpose, system, user, schema, max_tokens,
                            lambda v: [" ".join(str(t).split()) for t in v["translations"]])
    except DraftRefused as exc:  # the writers' room words it for drafts
        raise DraftRefused(str(exc).replace("into a draft", "into a translation")) from None
    if len(answer) != len(texts) or not all(answer):
        raise DraftRefused(f"the model's answers cannot be made into a translation: it "
                           f"gave {sum(1 for a in answer if a)} texts for the {len(texts)} "
                           f"of {purpose}")
    return [in_script_of(language, text) for text in answer]


async def _translate(engine: ChatEngine, ws: Workspace, script: Script, original: str,
                     language: str) -> _Words:
    import asyncio

    system = _system(ws, script, original, language)
    meta = [script.meta.title, *([script.meta.summary] if script.meta.summary else []),
            *(s.title for s in script.sections)]
    groups: dict[int | None, list[Turn]] = {}
    for turn in script.turns:
        groups.setdefault(turn.section, []).append(turn)

    def purpose(section: int | None) -> str:
        return "the opening" if section is None else f"section {section + 1}"

    answers = await asyncio.gather(
        _ask_texts(engine, "the title, summary and headings", system, meta, language),
        *(_ask_texts(engine, purpose(section), system, [with_directions(t) for t in turns],
                     language) for section, turns in groups.items()))
    translated_meta, sections = answers[0], answers[1:]
    by_turn: dict[int, str] = {}
    for turns, texts in zip(groups.values(), sections, strict=True):
        for turn, text in zip(turns, texts, strict=True):
            by_turn[turn.index] = text
    summary = translated_meta[1] if script.meta.summary else None
    headings = translated_meta[2:] if script.meta.summary else translated_meta[1:]
    return _Words(translated_meta[0], summary, headings,
                  [by_turn[t.index] for t in script.turns])


# ---------------------------------------------------------------- checking


def _with_months(text: str) -> str:
    """``text`` with each month name followed by its number (``December 10`` keeps the
    original's ``12月10日``)."""
    def number(match: re.Match[str]) -> str:
        return f"{match.group(0)} {_MONTHS.index(match.group(0).lower()) + 1}"

    return re.sub(r"\b(" + "|".join(_MONTHS) + r")\b", number, text, flags=re.IGNORECASE)


def kept_claims(original: str, translation: str) -> list[str]:
    """The original's numbers, product codes and Latin names the translation lost (a
    quote in another script is translated, not kept)."""
    haystack = fold(_with_months(translation))
    return [c for c in claims(original) if _LATIN_OR_DIGIT.search(c) and fold(c)
            and fold(c) not in haystack]


def invented_claims(translation: str, original: str, article: str, allowed: str) -> list[str]:
    """Numbers and product codes of the translation found neither in the original turn
    nor in the article (names are let through: a Chinese name has a Latin form)."""
    found = unsupported(translation, original + " " + article, allowed)
    return [c for c in found if any(ch.isdigit() for ch in c)]


def _directions(text: str) -> list[str]:
    return [d.kind for d in spoken_text(text)[1]]


def check_version(script: Script, texts: list[str], language: str, article: str,
                  allowed: str = "") -> list[Problem]:
    """Every check of a version's turns against the original's (turn numbers from 1)."""
    problems: list[Problem] = []
    for number, (turn, text) in enumerate(zip(script.turns, texts, strict=True), start=1):
        spoken, _ = spoken_text(text)
        share = language_share(spoken, language)
        if share < LANGUAGE_SHARE:
            problems.append(Problem(number, "language", f"only {share:.0%} of the letters "
                                    f"are in {language}'s script"))
        lost = kept_claims(turn.text, spoken)
        if lost:
            problems.append(Problem(number, "grounding", "lost from the original: "
                                    + ", ".join(lost[:8])))
        invented = invented_claims(spoken, turn.text, article, allowed)
        if invented:
            problems.append(Problem(number, "grounding", "not in the original or the "
                                    "article: " + ", ".join(invented[:8])))
        want, have = [d.kind for d in turn.directions], _directions(text)
        if want != have:
            problems.append(Problem(number, "directions", f"the original has "
                                    f"{_listed(want)}, the translation {_listed(have)}"))
    return problems


def _listed(kinds: list[str]) -> str:
    return ", ".join(kinds) if kinds else "none"


# ---------------------------------------------------------------- writing


def version_slug(script: Script, language: str) -> str:
    return f"{script.meta.slug}-{language.lower()}"


def render_version(script: Script, words: _Words, language: str, problems: list[Problem],
                   out: Path, written_by: str | None = None) -> str:
    """The version as a script: the original's front matter with the translated words, its
    language, its link to the original; then the same turns under the same sections."""
    meta = script.meta
    front: dict[str, Any] = {"title": words.title, "date": meta.date.isoformat(),
                             "slug": version_slug(script, language)}
    if meta.category:
        front["category"] = meta.category
    if words.summary:
        front["summary"] = words.summary
    front |= {"hosts": list(script.hosts), **({"guests": list(meta.guests)} if meta.guests
                                               else {}),
              "language": language, "status": "draft", "translation_of": meta.slug}
    if written_by:  # the words are a model's now: the feed discloses it
        front["written_by"] = written_by
    if meta.source is not None:
        front["source"] = _source(script, out)
    if meta.lifecycle.episode_type != "full":
        front["episode_type"] = meta.lifecycle.episode_type
    if meta.lifecycle.season is not None:
        front["season"] = meta.lifecycle.season
    lines = ["---", yaml.safe_dump(front, allow_unicode=True, sort_keys=False,
                                   width=10_000).rstrip()]
    if problems:
        lines.append("# translation problems (duopod translate; also in the .draft.json "
                     "sidecar):")
        lines += ["#   " + " ".join(p.line().split()) for p in problems]
    lines.append("---")
    section: int | None = None
    for turn, text in zip(script.turns, words.turns, strict=True):
        if turn.section is not None and turn.section != section:
            section = turn.section
            lines += ["", f"## {_one_line(words.headings[section])}"]
        lines += [turn.speaker, _one_line(text)]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    """A model's text as one script line: no line breaks, no Markdown structure at its
    start (a heading or a rule would change the script's structure)."""
    text = " ".join(text.split())
    return re.sub(r"^[#>\-*\s]+", "", text).replace("---", "—").strip() or "…"


def _source(script: Script, out: Path) -> dict[str, Any]:
    source = script.meta.source
    assert source is not None
    values = {"title": source.title, "provider": source.provider, "author": source.author,
              "date": source.date.isoformat() if source.date else None, "url": source.url,
              "file": os.path.relpath(source.file, out.parent) if source.file else None}
    return {key: value for key, value in values.items() if value is not None}

