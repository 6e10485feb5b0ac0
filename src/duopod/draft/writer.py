"""``duopod draft``: an article becomes a two-host script, in four steps a producer can
follow and a small model cannot derail.

1. read and clean the article (``text.notes.clean_article``, which repairs GBK mojibake);
   a long one is cut into chunks, each summarised into facts;
2. plan: an outline of the show's movements, each with the article's facts it uses;
3. write each movement's turns in the show's voice (the hosts' personas from show.toml),
   one movement after another, each prompt carrying what the earlier ones said (their
   facts, the last turns) so the hosts do not start over; the greeting and sign-off are
   the show's own words (``[writer] greeting``), filled in with the date and the show's
   name, not left to the model;
   then the length pass: while the draft is outside ±15% of ``--minutes`` (at the
   measured speaking rate), the movements outside their share are rewritten to it, at most
   ``length_passes`` times; what still misses is listed movement by movement;
4. check (``checks``: language per turn, length, grounding, echo) and write the script in
   the two-host format with ``status: draft``, its problems listed turn by turn (comments in
   the front matter and a ``.draft.json`` sidecar). The script is parsed as ``duopod
   check`` would before it is written, and never over an existing file.

Every answer is asked for as JSON under a schema with length limits (``maxLength``, item
counts) and ``max_tokens``, so a model that loops is cut short, and is checked here
whatever the server claims. A model whose answers cannot be made into a draft gets one
clear refusal (``DraftRefused``, exit 1) and nothing is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ..disk.owned import FileExists
from ..errors import DuopodError, EngineError, InputError
from ..script.parse import parse_script, read_text_file
from ..show.workspace import Workspace
from ..speech.engines import primary_language
from ..text import contains_cjk, not_text, slugify, without_non_text
from ..text.notes import clean_article
from .checks import (
    CONVERSATION_HINT,
    LANGUAGE_SHARE,
    Checked,
    Problem,
    check_turns,
    count_conventions,
    is_chinese,
    language_share,
    size_unit,
    spoken_size,
    target_size,
    unsupported,
    within_length,
)
from .formats import DEFAULT_FORMAT, FORMATS, Format, stance_lines
from .model import ChatEngine, ChatRequest
from .schema import JsonSchema, SchemaError, parse_answer

PROMPT_VERSION = "draft/3"
"""Part of every cache key (in the prompts): bump when a prompt changes."""
CHUNK_CHARS = 3000
"""Articles longer than this are summarised chunk by chunk first."""
TURN_CHARS = 120
"""About how long one turn runs, in characters (Chinese) or x5 for English letters."""
MAX_MOVEMENTS = 5
MIN_MOVEMENT_SIZE = 60
"""The least share of the length a movement is given (characters or words)."""
LENGTH_PASSES = 2
"""Rewrites of the movements over or under their share, at most, when the draft misses
``--minutes`` by more than 15% ([writer] length_passes)."""
CONTEXT_TURNS = 2
"""How many of the previous movement's last turns the next movement's prompt carries."""
_WEEKDAYS_ZH = "一二三四五六日"


class Said(str):
    """A turn's text said by a guest (``speaker``); a plain ``str`` is a host's, the hosts
    taking turns."""

    speaker: str

    def __new__(cls, text: str, speaker: str) -> Said:
        made = super().__new__(cls, text)
        made.speaker = speaker
        return made


def speakers_of(texts: list[str], hosts: tuple[str, ...], first: int = 0) -> list[str]:
    """Who says each of ``texts``: a guest's line is the guest's; the hosts take turns
    around them (the host after a guest is the one who did not speak last). ``first``:
    how many host turns came before (the greeting is the first host's)."""
    speakers, host_turns = [], first
    for text in texts:
        if isinstance(text, Said):
            speakers.append(text.speaker)
            continue
        speakers.append(hosts[host_turns % 2])
        host_turns += 1
    return speakers


class DraftRefused(DuopodError):
    """The model's answers could not be made into a draft: nothing was written."""


@dataclass(frozen=True)
class Article:
    text: str
    """Cleaned."""
    raw: bytes
    path: Path | None
    """The producer's file; None for standard input."""


@dataclass(frozen=True)
class DraftRequest:
    article: Article
    hosts: tuple[str, ...]
    language: str
    date: dt.date
    minutes: float = 5.0
    title: str | None = None
    url: str | None = None
    out: Path | None = None
    length_passes: int = LENGTH_PASSES
    format: Format = FORMATS[DEFAULT_FORMAT]
    guests: tuple[str, ...] = ()
    """Declared guests (each with a voice profile): they speak where the model puts them,
    grounded like the hosts."""

    @property
    def speakers(self) -> tuple[str, ...]:
        return (*self.hosts, *self.guests)


@dataclass(frozen=True)
class DraftResult:
    script: Path
    sidecar: Path
    problems: list[Problem]
    checked: Checked
    turns: int
    length_passes: int = 0
    """Length passes made (0: the first draft was within 15%, or none was allowed)."""


# ---------------------------------------------------------------- the article


def read_article(source: str, encoding: str | None = None) -> Article:
    """The article from a file or ``-`` (standard input), cleaned; InputError when it is
    empty, binary or has no words left after cleaning."""
    if source == "-":
        raw = sys.stdin.buffer.read()
        path = None
        if not raw.strip():
            raise InputError("the article on standard input is empty")
        if b"\x00" in raw[:8192]:
            raise InputError("the article on standard input is binary, not text")
        try:
            text = raw.decode(encoding or "utf-8")
        except (UnicodeDecodeError, LookupError):
            raise InputError("the article on standard input is not UTF-8 text") from None
    else:
        path = Path(source)
        text = read_text_file(path, encoding)
        raw = path.read_bytes()
    cleaned = clean_article(text)
    if sum(c.isalnum() for c in cleaned) < 20:
        raise InputError("the article has almost no words", path)
    return Article(cleaned, raw, path)


def host_languages(ws: Workspace, host: str) -> set[str]:
    """The languages a host's voice profile can speak, from its engines' voice names (empty:
    cannot tell, so anything goes)."""
    profile = ws.profiles.get(host)
    if profile is None:
        return set()
    found = set()
    for table in profile.engines.values():
        voice = str(table.get("voice", ""))
        if re.match(r"^[a-z]{2,3}-[A-Z]{2}-", voice):  # edge: zh-CN-XiaoxiaoNeural
            found.add(voice.split("-")[0])
        elif voice in ("cmn", "yue") or voice.startswith(("cmn", "zh")):
            found.add("zh")
        elif re.match(r"^en(-|$)", voice):
            found.add("en")
    return found


def check_guests(ws: Workspace, request: DraftRequest) -> None:
    """Every guest has a voice profile (a build speaks them in it) and is not a host."""
    for guest in request.guests:
        if guest in request.hosts:
            raise InputError(f"--guest {guest!r} is a host of this episode")
        if guest not in ws.profiles:
            raise InputError(f"guest {guest!r} has no voice profile in voices/: add one "
                             "(speaker = \"" + guest + "\" and a voice per engine), as a "
                             "host's", ws.root / "voices")
    check_language(ws, request.guests, request.language)


def check_language(ws: Workspace, hosts: tuple[str, ...], language: str) -> None:
    primary = "zh" if is_chinese(language) else language.lower().split("-")[0]
    for host in hosts:
        spoken = host_languages(ws, host)
        if spoken and primary not in spoken:
            raise InputError(f"host {host!r} speaks {', '.join(sorted(spoken))}, not "
                             f"{language}: choose --hosts or --language",
                             ws.profiles[host].path)


# ---------------------------------------------------------------- prompts and schemas


def _language_name(language: str) -> str:
    return "Simplified Chinese (简体中文)" if is_chinese(language) else f"the language {language}"


def _system(ws: Workspace, personas: dict[str, str], request: DraftRequest) -> str:
    who = "; ".join(f"{h}: {personas.get(h, 'co-host')}" for h in request.hosts)
    guests = ""
    if request.guests:
        about = "; ".join(f"{g}: {personas.get(g, 'a guest who knows the subject')}"
                          for g in request.guests)
        guests = (f" Guest{'s' if len(request.guests) > 1 else ''} on this episode: {about}. "
                  "A guest speaks in their own turns, answers the hosts' questions and says "
                  "only what the article supports.")
    return (f"[{PROMPT_VERSION}] You write the podcast {ws.show.title!r}, a dialogue between "
            f"{' and '.join(request.hosts)} ({who}).{stance_lines(request.format, request.hosts)}"
            f"{guests} Write only in "
            f"{_language_name(request.language)}. Use only facts, numbers, names and quotes "
            "from the article; never invent any. Hosts do not repeat each other; each adds "
            f"something. {CONVERSATION_HINT}")


def _strings(max_length: int, max_items: int, min_items: int = 0) -> JsonSchema:
    return {"type": "array", "items": {"type": "string", "maxLength": max_length},
            "minItems": min_items, "maxItems": max_items}


SUMMARY_SCHEMA: JsonSchema = {
    "type": "object", "required": ["facts"], "properties": {"facts": _strings(200, 8, 1)}}
def outline_schema(movements: int = MAX_MOVEMENTS) -> JsonSchema:
    return {
        "type": "object", "required": ["title", "movements"],
        "properties": {
            "title": {"type": "string", "maxLength": 40},
            "movements": {"type": "array", "minItems": 1, "maxItems": movements, "items": {
                "type": "object", "required": ["heading", "facts"],
                "properties": {"heading": {"type": "string", "maxLength": 30},
                               "facts": _strings(200, 5)}}}}}


OUTLINE_SCHEMA = outline_schema()


def turns_schema(hosts: tuple[str, ...], count: int, max_length: int) -> JsonSchema:
    return {"type": "object", "required": ["turns"], "properties": {"turns": {
        "type": "array", "minItems": 1, "maxItems": count, "items": {
            "type": "object", "required": ["speaker", "text"],
            "properties": {"speaker": {"type": "string", "enum": list(hosts)},
                           "text": {"type": "string", "maxLength": max_length}}}}}}


T = TypeVar("T")


async def _ask(engine: ChatEngine, purpose: str, system: str, user: str,
               schema: JsonSchema, max_tokens: int, read: Callable[[Any], T]) -> T:
    """One JSON answer, read by ``read``; DraftRefused naming ``purpose`` otherwise."""
    request = ChatRequest(purpose, (("system", system), ("user", user)), schema, max_tokens)
    try:
        completion = await engine.complete(request)
        return read(parse_answer(completion.text, schema))
    except (EngineError, SchemaError) as exc:
        if isinstance(exc, EngineError) and "is not usable JSON" not in str(exc):
            raise
        raise DraftRefused(f"the model's answers cannot be made into a draft: {exc}") from None


# ---------------------------------------------------------------- drafting


def _facts_source(article: str) -> list[str]:
    chunks, current = [], ""
    for paragraph in article.split("\n"):
        if len(current) + len(paragraph) > CHUNK_CHARS and current:
            chunks.append(current)
            current = ""
        current += paragraph + "\n"
    return [*chunks, current] if current.strip() else chunks


async def _material(engine: ChatEngine, system: str, article: str) -> str:
    """The article itself, or for a long one the facts of each chunk."""
    if len(article) <= CHUNK_CHARS:
        return article
    chunks = _facts_source(article)

    async def summarise(i: int, chunk: str) -> list[str]:
        return await _ask(engine, f"summary of chunk {i + 1}", system,
                          "List the facts of this part of the article (numbers, names, "
                          f"quotes exactly as written).\n\n{chunk}", SUMMARY_SCHEMA, 800,
                          lambda v: [str(f) for f in v["facts"]])

    summaries = await asyncio.gather(*(summarise(i, c) for i, c in enumerate(chunks)))
    return "\n".join(f"- {fact}" for facts in summaries for fact in facts)


def clean_turn_text(text: str, hosts: tuple[str, ...]) -> str:
    """One line of dialogue: no line breaks, no speaker prefix, no Markdown structure."""
    text = " ".join(text.split())
    for host in hosts:
        text = re.sub(rf"^\**{re.escape(host)}\**\s*[:：]\s*", "", text)
    text = re.sub(r"^[#>\-*\s]+", "", text).replace("---", "—")
    if contains_cjk(text):
        text = re.sub(r"(?<=[\u4e00-\u9fff，。！？])\s+(?=[\u4e00-\u9fff])", "", text)
    return text.strip()


@dataclass(frozen=True)
class _Part:
    """One movement of the plan: its heading, the article's facts it uses and its share of
    the asked length (``checks.spoken_size`` units: Han characters, or words)."""

    heading: str
    facts: list[str]
    budget: int
    purpose: str = ""
    """What the format has this movement do ("the case against")."""


def _who(request: DraftRequest) -> str:
    """Who speaks in a movement, for its prompt."""
    hosts = f"alternating turns of {' and '.join(request.hosts)}"
    if not request.guests:
        return hosts
    return f"{hosts}, with {' and '.join(request.guests)} (guest) answering in their own turns"


def _turn_shape(request: DraftRequest, budget: int) -> tuple[int, int]:
    """(turns asked for, longest turn in characters) for a movement of ``budget``."""
    chinese = is_chinese(request.language)
    count = max(2, round(budget / (TURN_CHARS if chinese else 25)))
    return count, (TURN_CHARS if chinese else TURN_CHARS * 5) * 2


async def _turns(engine: ChatEngine, system: str, request: DraftRequest, purpose: str,
                 user: str, budget: int) -> list[str]:
    """The model's turns for one movement, cleaned and in the episode's script."""
    count, longest = _turn_shape(request, budget)
    schema = turns_schema(request.speakers, count, longest)
    max_tokens = min(4096, count * longest * 3 // 2)
    said = await _ask(engine, purpose, system, user, schema, max_tokens,
                      lambda v: [(str(t["speaker"]), str(t["text"])) for t in v["turns"]])
    turns: list[str] = []
    for speaker, text in said:
        line = in_script_of(request.language, clean_turn_text(text, request.speakers))
        if line:
            turns.append(Said(line, speaker) if speaker in request.guests else line)
    return turns


def already_said(request: DraftRequest, parts: list[_Part], written: list[list[str]],
                 last_turns: int = CONTEXT_TURNS) -> str:
    """What the movements written so far said, compactly, for the next one's prompt: each
    one's heading and facts, and the last turns of the one just before (with speakers as
    the script will have them: the greeting is turn 1, by the first host)."""
    if not written:
        return ""
    lines = ["Already said in the parts before this one (do not repeat it; go on from "
             "there):"]
    for i, (part, _turns) in enumerate(zip(parts, written, strict=False)):
        facts = "; ".join(part.facts) or "(no facts listed)"
        lines.append(f"- part {i + 1} {part.heading!r}, facts used: {facts}")
    everything = [t for turns in written for t in turns]
    who = speakers_of(everything, request.hosts, first=1)
    lines.append("The last turns so far:")
    lines += [f"{speaker}: {text}" for speaker, text in
              zip(who[-last_turns:], everything[-last_turns:], strict=True)]
    return "\n".join(lines) + "\n\n"


async def _movement(engine: ChatEngine, system: str, request: DraftRequest, material: str,
                    index: int, part: _Part, context: str) -> list[str]:
    count, _longest = _turn_shape(request, part.budget)
    purpose = f" ({part.purpose})" if part.purpose else ""
    user = (f"Article material:\n{material}\n\n{context}Write part {index + 1} of the "
            f"episode, {part.heading!r}{purpose}, as {count} {_who(request)}, about "
            f"{part.budget} "
            f"{size_unit(request.language)} in all, using these facts:\n"
            + "\n".join(f"- {f}" for f in part.facts or [part.heading]))
    return await _turns(engine, system, request, f"movement {index + 1}", user, part.budget)


async def _resize(engine: ChatEngine, system: str, request: DraftRequest, material: str,
                  index: int, part: _Part, turns: list[str], attempt: int) -> list[str]:
    """Movement ``index`` again, cut or extended to its share of the length."""
    size = spoken_size(turns, request.language)
    unit = size_unit(request.language)
    count, _longest = _turn_shape(request, part.budget)
    longer = size < part.budget
    how = ("Extend it with more of the article's facts and the hosts' reactions to them"
           if longer else "Cut it: keep the facts, drop repetition and filler")
    source = f"Article material:\n{material}\n\n" if longer else ""
    user = (f"{source}Part {index + 1} of the episode, {part.heading!r}, has {size} {unit}; "
            f"its share of the episode is {part.budget}. {how}. Rewrite part {index + 1} to "
            f"about {part.budget} {unit}, as {count} {_who(request)}. Answer with JSON only, "
            "as the schema asks. Its turns now:\n"
            + "\n".join(f"- {t}" for t in turns))
    return await _turns(engine, system, request,
                        f"movement {index + 1} (length pass {attempt})", user, part.budget)


@dataclass(frozen=True)
class PassMiss:
    """A length pass whose answer for one movement could not be used: the movement keeps
    its last good version, and the draft lists the miss."""

    movement: int
    attempt: int
    reason: str


async def _fit_length(engine: ChatEngine, system: str, request: DraftRequest, material: str,
                      parts: list[_Part], written: list[list[str]], reserved: int
                      ) -> tuple[int, list[PassMiss]]:
    """The length pass: while the draft's spoken size is outside ±15% of what was asked,
    the movements outside their own share are rewritten to it, at most
    ``request.length_passes`` times. ``written`` is replaced in place, movement by movement,
    only by an answer that could be used: a rewrite the model spoils (not JSON, cut off, no
    turn, the server gone) keeps the last good version and is returned as a miss, never
    thrown away with the rest of the draft. Returns the passes made and the misses."""
    target = target_size(request.minutes, request.language)
    misses: list[PassMiss] = []

    async def resize(i: int, attempt: int) -> list[str] | None:
        try:
            return await _resize(engine, system, request, material, i, parts[i], written[i],
                                 attempt)
        except (DraftRefused, EngineError) as exc:
            reason = str(exc).removeprefix("the model's answers cannot be made into a draft: ")
            misses.append(PassMiss(i, attempt, reason))
            return None

    for attempt in range(1, request.length_passes + 1):
        total = reserved + sum(spoken_size(turns, request.language) for turns in written)
        off = [i for i, (part, turns) in enumerate(zip(parts, written, strict=True))
               if not within_length(spoken_size(turns, request.language), part.budget)]
        if within_length(total, target) or not off:
            return attempt - 1, misses
        again = await asyncio.gather(*(resize(i, attempt) for i in off))
        for i, turns in zip(off, again, strict=True):
            if turns:
                written[i] = turns
            elif turns is not None:
                misses.append(PassMiss(i, attempt, "no usable turn"))
    return request.length_passes, misses


def _budgets(request: DraftRequest, count: int, reserved: int) -> list[int]:
    """Each movement's share of the asked length, once the greeting and sign-off (the
    show's own words, ``reserved``) are taken off."""
    left = target_size(request.minutes, request.language) - reserved
    return [max(MIN_MOVEMENT_SIZE, left // count)] * count


def greeting(ws: Workspace, template: str | None, host: str, date: dt.date, language: str
             ) -> str:
    chinese = is_chinese(language)
    if template is None or not _shows_language(ws, language):
        template = ("早上好，我是{host}，今天是{date}，星期{weekday}。欢迎收听{show}。"
                    if chinese else
                    "Good morning, I'm {host}. It's {weekday}, {date}, and this is {show}.")
    values = {"host": host, "show": _title_in(ws, language),
              "date": f"{date.month}月{date.day}日" if chinese else f"{date:%B} {date.day}",
              "weekday": _WEEKDAYS_ZH[date.weekday()] if chinese else f"{date:%A}"}
    return template.format_map(values)


def sign_off(ws: Workspace, template: str | None, language: str) -> str:
    if template is None or not _shows_language(ws, language):
        template = ("好了，今天的{show}就到这里，我们下期再见。" if is_chinese(language)
                    else "That's all for today on {show}. See you next time.")
    return template.format_map({"show": _title_in(ws, language)})


def _shows_language(ws: Workspace, language: str) -> bool:
    """Whether an episode in ``language`` is in the show's own language, the one its
    ``[writer] greeting`` and ``sign_off`` are written in (an English episode of a
    Mandarin show opened with "星期Wednesday" before)."""
    return primary_language(language) == primary_language(ws.show.language)


def _title_in(ws: Workspace, language: str) -> str:
    """The show's title as its feed in ``language`` gives it (``[feed."en-US"] title``)."""
    return ws.show.feed.language_feed(language).title or ws.show.title


@dataclass(frozen=True)
class _Written:
    title: str
    sections: list[tuple[str, list[str]]]
    budgets: list[int]
    """Each section's share of the length (spoken_size units)."""
    length_passes: int = 0
    misses: tuple[PassMiss, ...] = ()
    """Length-pass answers that could not be used, ``movement`` counting ``sections``."""


async def _write(engine: ChatEngine, ws: Workspace, personas: dict[str, str],
                 request: DraftRequest, reserved: int) -> _Written:
    """The movements, one after another (each prompt carries what the ones before said),
    then the length pass. ``reserved``: the spoken size of the greeting and sign-off."""
    system = _system(ws, personas, request)
    material = await _material(engine, system, request.article.text)
    plan_of = request.format.movements
    outline = await _ask(
        engine, "outline", system,
        f"Article:\n{material}\n\nPlan the episode ({request.format.name}: "
        f"{request.format.summary}): a short title and {len(plan_of)} movements, in this "
        "order: " + "; ".join(f"{i + 1}. {what}" for i, what in enumerate(plan_of))
        + ". Give each a short heading of its own and the article's facts it uses.",
        outline_schema(len(plan_of)), 1200, lambda v: v)
    script = partial(in_script_of, request.language)
    plan = [(script(clean_turn_text(str(m["heading"]), request.speakers)) or str(i + 1),
             [str(f) for f in m["facts"]]) for i, m in enumerate(outline["movements"])]
    budgets = _budgets(request, len(plan), reserved)
    parts = [_Part(heading, facts, budget, plan_of[i] if i < len(plan_of) else "")
             for i, ((heading, facts), budget) in enumerate(zip(plan, budgets, strict=True))]
    written: list[list[str]] = []
    for i, part in enumerate(parts):
        context = already_said(request, parts, written)
        written.append(await _movement(engine, system, request, material, i, part, context))
    passes, misses = await _fit_length(engine, system, request, material, parts, written,
                                       reserved)
    title = request.title or script(clean_turn_text(str(outline["title"]), ())) or "Draft"
    kept = [i for i, turns in enumerate(written) if turns]
    return _Written(title, [(parts[i].heading, written[i]) for i in kept],
                    [parts[i].budget for i in kept], passes,
                    tuple(replace(m, movement=kept.index(m.movement)) for m in misses
                          if m.movement in kept))


def in_script_of(language: str, text: str) -> str:
    """Chinese text in the episode's own characters: simplified for zh-CN (and zh, zh-SG,
    zh-Hans), traditional for zh-TW, zh-HK, zh-Hant; a small model copies a traditional
    article's characters into a simplified show's draft."""
    if not is_chinese(language) or not contains_cjk(text):
        return text
    import zhconv

    tag = language.lower()
    target = "zh-hant" if any(part in tag for part in ("tw", "hk", "mo", "hant")) else \
        "zh-hans"
    return str(zhconv.convert(text, target))


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def draft_script(ws: Workspace, engine: ChatEngine, request: DraftRequest,
                 personas: dict[str, str] | None = None, greeting_template: str | None = None,
                 sign_off_template: str | None = None) -> DraftResult:
    """Write the draft; DraftRefused (nothing written) when the model's answers cannot be
    made into one."""
    if len(request.hosts) < 2:
        raise InputError("a draft needs two hosts (--hosts A,B)")
    check_language(ws, request.hosts, request.language)
    check_guests(ws, request)
    out = request.out
    if out is not None and out.exists():
        raise InputError("exists; a draft never overwrites a file (choose --out)", out)
    opener = greeting(ws, greeting_template, request.hosts[0], request.date, request.language)
    closer = sign_off(ws, sign_off_template, request.language)
    reserved = spoken_size([opener, closer], request.language)
    written = run(_closing(engine, _write(engine, ws, personas or {}, request, reserved)))
    if not written.sections:
        raise DraftRefused("the model's answers cannot be made into a draft: no usable turn")
    written, text_problems = _only_text(written, request.title is None)
    spoke = {t.speaker for _h, turns in written.sections for t in turns if isinstance(t, Said)}
    silent = [g for g in request.guests if g not in spoke]
    if silent:  # the front matter lists only the guests who speak
        text_problems.insert(0, Problem(0, "guests", f"{', '.join(silent)} never speaks: "
                                        "the model gave them no turn (left out of guests:)"))
        request = replace(request, guests=tuple(g for g in request.guests if g in spoke))
    texts = [opener] + [t for _h, turns in written.sections for t in turns] + [closer]
    flags = [False] + [True] * (len(texts) - 2) + [False]
    movement_of = [-1] + [i for i, (_h, turns) in enumerate(written.sections)
                          for _t in turns] + [len(written.sections)]
    allowed = " ".join([ws.show.title, *request.speakers, opener, closer])
    checked = check_turns(texts, flags, request.article.text, request.language,
                          request.minutes, allowed, movement_of)
    checked.problems.extend(_length_misses(written, request, checked.minutes))
    exchange = count_conventions(texts, movement_of)
    checked.problems.extend(exchange.problems)
    checked.problems.extend(_pass_misses(written))
    checked.problems.extend(text_problems)
    checked.problems.extend(_invented_names(written, request, allowed))
    for heading, _turns in written.sections:
        share = language_share(heading, request.language)
        if share < LANGUAGE_SHARE:
            checked.problems.insert(0, Problem(0, "language", f"heading {heading!r}: only "
                                               f"{share:.0%} in {request.language}'s script"))
    model_turns = len(texts) - 2
    if checked.off_language >= model_turns and model_turns:
        raise DraftRefused(f"the model's answers cannot be made into a draft: none of its "
                           f"{model_turns} turns is in {request.language}")
    if out is None:
        slug = slugify(written.title, request.date.isoformat())
        out = ws.root / "scripts" / f"{slug}.md"
        if out.exists():
            raise InputError("exists; a draft never overwrites a file (choose --out)", out)
    source_file = _source_file(ws, request.article, out, written.title)
    body = render_script(written, request, texts, checked.problems, source_file, out,
                         f"{engine.model} (duopod draft)")
    _write_new(out, body.encode(), ws)
    sidecar = out.with_suffix(".draft.json")
    report = {"prompt_version": PROMPT_VERSION, "model": engine.model,
              "format": request.format.name,
              "plan": list(request.format.movements), "guests": list(request.guests),
              "minutes": round(checked.minutes, 2), "asked_minutes": request.minutes,
              "length_passes": written.length_passes,
              "failed_length_passes": [
                  {"movement": written.sections[m.movement][0], "pass": m.attempt,
                   "reason": m.reason} for m in written.misses],
              "movements": [{"heading": heading, "size": spoken_size(turns, request.language),
                             "share": budget} for (heading, turns), budget in
                            zip(written.sections, written.budgets, strict=True)],
              "turns": len(texts), "backchannels": exchange.backchannels,
              "interruptions": exchange.interruptions, "unsupported": checked.unsupported,
              "off_language": checked.off_language,
              "problems": [{"turn": p.turn, "check": p.check, "message": p.message}
                           for p in checked.problems]}
    write_report(ws, sidecar, report)
    return DraftResult(out, sidecar, checked.problems, checked, len(texts),
                       written.length_passes)


def _length_misses(written: _Written, request: DraftRequest, minutes: float
                   ) -> list[Problem]:
    """When the whole draft (``minutes`` long) misses its length, the movements that miss
    their share, each named at its first turn (the greeting is turn 1)."""
    if within_length(minutes, request.minutes):
        return []
    misses, first = [], 2
    unit = size_unit(request.language)
    for (heading, turns), budget in zip(written.sections, written.budgets, strict=True):
        size = spoken_size(turns, request.language)
        if not within_length(size, budget):
            misses.append(Problem(first, "length", f"movement {heading!r}: {size} {unit}, its "
                                  f"share is {budget} (±15%), still after "
                                  f"{written.length_passes} length passes"))
        first += len(turns)
    return misses


def _first_turns(written: _Written) -> list[int]:
    """Each section's first turn number (the greeting is turn 1)."""
    return [2 + sum(len(turns) for _h, turns in written.sections[:i])
            for i in range(len(written.sections))]


def _only_text(written: _Written, model_title: bool) -> tuple[_Written, list[Problem]]:
    """The draft with what is not text (a box or replacement mark copied from a damaged
    article, a control character, leftover markup) taken out of its title, headings and
    turns, each removal listed where it was: the producer restores the lost word."""
    problems: list[Problem] = []
    firsts = _first_turns(written)

    def cleaned(text: str, turn: int, what: str) -> str:
        found = not_text(text)
        if not found:
            return text
        problems.append(Problem(turn, "text", f"{what}took out {'; '.join(found)}: the "
                                "article lost something there"))
        kept = " ".join(without_non_text(text).split())
        return Said(kept, text.speaker) if isinstance(text, Said) else kept

    title = cleaned(written.title, 0, "title: ") if model_title else written.title
    sections = []
    for (heading, turns), first in zip(written.sections, firsts, strict=True):
        sections.append((cleaned(heading, first, f"heading {heading!r}: ") or heading,
                         [cleaned(t, first + j, "") for j, t in enumerate(turns)]))
    return replace(written, title=title or "Draft", sections=sections), problems


def _invented_names(written: _Written, request: DraftRequest, allowed: str
                    ) -> list[Problem]:
    """The title the model chose and its headings, checked as turns are: every number,
    code, name and quote in the article (or the show's own words), or listed."""
    article = request.article.text
    problems = []
    if request.title is None and (missing := unsupported(written.title, article, allowed)):
        problems.append(Problem(0, "grounding", f"title {written.title!r}: not in the "
                                f"article: {', '.join(missing[:8])}"))
    for (heading, _turns), first in zip(written.sections, _first_turns(written), strict=True):
        if missing := unsupported(heading, article, allowed):
            problems.append(Problem(first, "grounding", f"heading {heading!r}: not in the "
                                    f"article: {', '.join(missing[:8])}"))
    return problems


def _pass_misses(written: _Written) -> list[Problem]:
    """The length-pass answers that could not be used, each at its movement's first turn
    (the greeting is turn 1): the movement kept its last good version."""
    firsts = _first_turns(written)
    return [Problem(firsts[m.movement], "length",
                    f"length pass {m.attempt} of movement "
                    f"{written.sections[m.movement][0]!r} failed ({m.reason}); its last good "
                    "version is kept") for m in written.misses]


async def _closing(engine: ChatEngine, work: Awaitable[T]) -> T:
    try:
        return await work
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            await close()


def _source_file(ws: Workspace, article: Article, script: Path, title: str) -> Path:
    """The article as the script's ``source.file``: the producer's own file when it is
    inside the show, else a copy in sources/ (never over another file)."""
    if article.path is not None:
        resolved = article.path.resolve()
        if resolved.is_relative_to(ws.root.resolve()):
            return resolved
    folder = script.parent / "sources"
    stem = script.stem
    for n in range(100):
        candidate = folder / (f"{stem}.txt" if n == 0 else f"{stem}-{n}.txt")
        with contextlib.suppress(FileExists):
            ws.files.create(candidate, article.raw)
            return candidate
        if candidate.read_bytes() == article.raw:
            return candidate
    raise InputError("too many copies of the article in sources/", folder)


def render_script(written: _Written, request: DraftRequest, texts: list[str],
                  problems: list[Problem], source_file: Path, out: Path,
                  written_by: str | None = None) -> str:
    source = {"file": os.path.relpath(source_file, out.parent)}
    if request.url:
        source["url"] = request.url
    front: dict[str, object] = {
        "title": written.title, "date": request.date.isoformat(), "status": "draft",
        "hosts": list(request.hosts), **({"guests": list(request.guests)} if request.guests
                                           else {}),
        "language": request.language, "source": source,
    }
    if written_by:  # the feed discloses a model's words (podcast:txt ai-content)
        front["written_by"] = written_by
    lines = ["---", yaml.safe_dump(front, allow_unicode=True, sort_keys=False).rstrip()]
    if problems:
        lines.append("# draft problems (duopod draft; also in the .draft.json sidecar):")
        lines += ["#   " + " ".join(p.line().split()) for p in problems]
    lines.append("---")
    speakers = speakers_of(texts, request.hosts)
    index = 0
    lines += [speakers[0], texts[0]]
    index = 1
    for heading, turns in written.sections:
        lines += ["", f"## {heading}"]
        for _turn in turns:
            lines += [speakers[index], texts[index]]
            index += 1
    lines += ["", speakers[index], texts[index]]
    return "\n".join(lines) + "\n"


def _check_parses(data: bytes, path: Path, ws: Workspace) -> None:
    """``data`` parsed as ``duopod check`` would parse it at ``path``; DraftRefused when it
    does not parse."""
    try:
        parse_script(path, workspace=ws.root, known_hosts=tuple(ws.profiles),
                     text=data.decode("utf-8"))
    except InputError as exc:
        raise DraftRefused(f"the model's answers do not make a valid script: "
                           f"{exc.message} (line {exc.line})") from None


def _write_new(path: Path, data: bytes, ws: Workspace) -> None:
    """Write ``path`` only if it does not exist (the producer's door creates it whole, or
    not at all), after parsing it as ``duopod check`` would; DraftRefused when it does not
    parse."""
    _check_parses(data, path, ws)
    try:
        ws.files.create(path, data)
    except FileExists:
        raise InputError("exists; a draft never overwrites a file", path) from None


def write_report(ws: Workspace, sidecar: Path, report: dict[str, object]) -> None:
    """The draft's ``.draft.json`` beside its script (duopod's, written through the door)."""
    data = json.dumps(report, ensure_ascii=False, indent=1).encode()
    ws.files.update(sidecar, lambda _before: data)


# ---------------------------------------------------------------- revising one turn


@dataclass(frozen=True)
class Revised:
    turn: int
    old: str
    new: str
    problems: list[Problem]


def revise_turn(ws: Workspace, engine: ChatEngine, script_path: Path, turn_number: int,
                note: str, language: str | None = None) -> Revised:
    """Rewrite turn ``turn_number`` (1-based) following ``note``; every other byte of the
    file stays as it was. The file is read and written through the producer's door: an
    edit saved while the model writes is never overwritten (``Changed``, nothing written)."""
    owned = ws.files.read(script_path)
    if owned.data is None:
        raise InputError("no such script", script_path)
    script = parse_script(script_path, workspace=ws.root, known_hosts=tuple(ws.profiles),
                          text=owned.text)
    if not 1 <= turn_number <= len(script.turns):
        raise InputError(f"--turn must be 1 to {len(script.turns)}", script_path)
    turn = script.turns[turn_number - 1]
    raw = owned.data
    lines = raw.splitlines(keepends=True)
    speaker_line = lines[turn.line - 1].decode("utf-8").strip()
    at = turn.line if speaker_line == turn.speaker else turn.line - 1
    if at >= len(lines) or (speaker_line != turn.speaker and not speaker_line.startswith(
            turn.speaker)):
        raise InputError("only turns written as a speaker line and one line of text can be "
                         "revised", script_path, turn.line)
    old_line = lines[at].decode("utf-8")
    language = language or script.meta.lifecycle.language or ws.show.language
    article = (script.meta.source.text if script.meta.source else None) or ""
    before = script.turns[turn_number - 2].text if turn_number > 1 else ""
    after = script.turns[turn_number].text if turn_number < len(script.turns) else ""
    schema = {"type": "object", "required": ["text"],
              "properties": {"text": {"type": "string", "maxLength": TURN_CHARS * 4}}}
    system = (f"[{PROMPT_VERSION}] You edit one turn of the podcast {ws.show.title!r}. Write "
              f"only in {_language_name(language)}; use only facts from the article.")
    user = (f"Article:\n{article[:CHUNK_CHARS]}\n\nPrevious turn: {before}\nNext turn: {after}"
            f"\n\nRewrite this turn by {turn.speaker}: {turn.text}\nEditor's note: {note}")
    new = run(_closing(engine, _ask(engine, f"turn {turn_number}", system, user, schema, 1024,
                                    lambda v: clean_turn_text(str(v["text"]), script.hosts))))
    if not new:
        raise DraftRefused("the model's answers cannot be made into a turn: it is empty")
    if speaker_line != turn.speaker:  # inline: "Name: text"
        new_line = old_line[: old_line.index(turn.speaker) + len(turn.speaker)] + ": " + new
    else:
        new_line = new
    ending = old_line[len(old_line.rstrip("\r\n")):]
    lines[at] = (new_line + ending).encode()
    revised = b"".join(lines)
    _check_parses(revised, script_path, ws)
    ws.files.write(script_path, revised, replaces=owned.version)
    checked = check_turns([before, new] if before else [new], [False, True] if before else
                          [True], article, language, None, " ".join(script.hosts))
    problems = [Problem(turn_number, p.check, p.message) for p in checked.problems
                if p.turn == (2 if before else 1)]
    return Revised(turn_number, turn.text, new, problems)
