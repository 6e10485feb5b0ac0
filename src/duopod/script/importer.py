"""``duopod import``: a published episode page, copied as text, becomes a script and its
source file.

Producers have finished episode pages, not scripts. A page carries the episode's title
(usually twice), a line gluing date and category (``2025-08-04Technology``), player
placeholders (``--:--``), the dialogue as alternating name lines and turns, an English
report summary on one ``##`` line, the source's headline, ``Read original at PROVIDER``,
the article, and page furniture (``Read next``, ``Analysis``, the movements line, ``Related
Podcasts``). This module takes that apart without guessing silently: every line it drops
is reported with its number and the reason, and anything it cannot place is an
``InputError`` naming the line. The written script is parsed again before anything lands,
and existing files are never overwritten.

Sections: the page names its movements (``Phenomenon+ Conflict+ ...``) but not where they
start. A movement becomes a ``##`` heading before the first turn whose opening announces it
with one of its cue words (背景, 矛盾, 影响, 展望...), and, in a dialogue long enough, the
movements no turn announces are placed by meaning: where the turns' topic shifts and their
words mean the movement (``movements``). Each heading is reported with where it went and
why; the opening movement gets no heading (it is the first chapter); a movement that could
not be placed is reported, not guessed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..disk.owned import FileExists, ProducerFiles
from ..errors import InputError
from ..text import (
    clean_line,
    contains_cjk,
    slugify,
    strip_invisible,
)
from .model import Script
from .movements import MOVEMENT_CUES, place_movements
from .parse import infer_hosts, parse_script, read_text_file, split_lines

__all__ = ["MOVEMENT_CUES", "DroppedLine", "ImportResult", "import_page"]

Line = tuple[int, str]
"""A page line: its 1-based number and its text, stripped."""

_DATE_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(.*)$")
_TIME = r"(?:--|\d{1,2}):(?:--|\d{2})(?::\d{2})?"
_PLAYER = re.compile(rf"^{_TIME}(?:\s*/\s*{_TIME})?$")
_READ_ORIGINAL = re.compile(r"^(?:read (?:the )?original(?: article)?(?: at| on)?"
                            r"|阅读原文|閱讀原文)[:：]?\s*(.*)$", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"]+")
_MOVEMENT = re.compile(r"^[A-Z][A-Za-z]{1,30}\+$")
_MOVEMENTS_ON_ONE_LINE = re.compile(r"^(?:[A-Z][A-Za-z]{1,30}\+\s*){2,}$")
_READ_NEXT = re.compile(r"^([^.!?。！？]{0,40}?)\s*Read next$")
"""'Read next', sometimes with the page's tags glued before it ('ChinaRead next')."""
_TAIL_MARKERS = {"analysis": "page furniture ('Analysis')",
                 "related podcasts": "page furniture ('Related Podcasts')",
                 "related episodes": "page furniture ('Related episodes')"}
_SUMMARY_FIELD = re.compile(r"\*\*\s*(Report Provider|Provider|Author|Date)\s*:?\s*\*\*\s*:?\s*"
                            r"(.+?)\s*(?=\*\*|$)", re.IGNORECASE)
_SUMMARY_BREAK = re.compile(r"\s+(?=#{2,6}\s|\*\s)")
_SUMMARY_RULE = "---- Report summary (from the episode page) ----"


@dataclass(frozen=True)
class DroppedLine:
    """A page line left out of the script and the source, and why."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class ImportResult:
    script_path: Path
    source_path: Path | None
    title: str
    date: dt.date
    category: str | None
    hosts: tuple[str, ...]
    turns: int
    sections: tuple[tuple[str, int], ...]
    """Each heading and the (1-based) turn it was placed before."""
    placed: tuple[str, ...] = ()
    """For each of ``sections``: where the heading went (page line, speaker, the turn's
    first words) and why (the cue word, or the meaning words and topic shift)."""
    dropped: tuple[DroppedLine, ...] = ()
    notes: tuple[str, ...] = ()
    """What the producer should know: movements not placed, a missing URL, ..."""


@dataclass
class _Turn:
    speaker: str
    line: int
    lines: list[str] = field(default_factory=list)


@dataclass
class _Page:
    title: str
    date: dt.date
    category: str | None
    hosts: list[str]
    turns: list[_Turn]
    movements: list[str]
    summary: list[str]
    headline: str | None
    provider: str | None
    url: str | None
    article: list[str]
    dropped: list[DroppedLine]
    notes: list[str]


# ---------------------------------------------------------------- the entry point


def import_page(path: Path, out_dir: Path, url: str | None = None,
                encoding: str | None = None) -> ImportResult:
    """Read the page at ``path``; write ``out_dir/<slug>.md`` and ``out_dir/sources/<slug>.txt``.

    ``url`` supplies the original article's address when the page does not carry it;
    ``encoding`` reads a page that is not UTF-8 (e.g. gb18030). Raises ``InputError``
    (nothing written) on anything ambiguous or on an existing file.
    """
    path = Path(path)
    page = read_page(path, encoding)
    if url is not None:
        if not re.match(r"^https?://\S+$", url):
            raise InputError(f"--url must be an http(s) address, not {url!r}")
        page.url = url
    elif page.headline and not page.url:
        page.notes.append("the page gives no address for the original article: pass --url "
                          "(or add url: under source:) for a 'Read the original' link")
    sections, placed = place_sections(page)
    slug = slugify(page.title, page.date.isoformat())
    script_path = Path(out_dir) / f"{slug}.md"
    has_source = bool(page.article or page.summary)
    source_path = Path(out_dir) / "sources" / f"{slug}.txt" if has_source else None
    script_text = render_script(page, sections, source_path.name if source_path else None)
    source_text = render_source(page) if has_source else None
    _write_new(script_path, script_text, source_path, source_text, len(page.turns),
               RoundTrip(path, [t.line for t in page.turns], [t.speaker for t in page.turns]))
    return ImportResult(
        script_path=script_path, source_path=source_path, title=page.title, date=page.date,
        category=page.category, hosts=tuple(page.hosts), turns=len(page.turns),
        sections=tuple((heading, index + 1) for index, heading in sorted(sections.items())),
        placed=tuple(placed[index] for index in sorted(sections)),
        dropped=tuple(sorted(page.dropped, key=lambda d: d.line)), notes=tuple(page.notes),
    )


# ---------------------------------------------------------------- reading the page


def read_page(path: Path, encoding: str | None = None) -> _Page:
    """Take the page apart (see the module docstring); raise ``InputError`` on ambiguity."""
    raw = split_lines(strip_invisible(read_text_file(path, encoding)))
    lines: list[Line] = [(number, clean_line(text)) for number, text in enumerate(raw, 1)]
    dropped: list[DroppedLine] = []
    title, date, category, start = _read_head(lines, path, dropped)
    end = _dialogue_end(lines, start)
    hosts, turns = _read_dialogue(lines[start:end], path, dropped)
    page = _Page(title=title, date=date, category=category, hosts=hosts, turns=turns,
                 movements=[], summary=[], headline=None, provider=None, url=None,
                 article=[], dropped=dropped, notes=[])
    _read_tail(lines[end:], path, page)
    return page


def _read_head(lines: list[Line], path: Path, dropped: list[DroppedLine]
               ) -> tuple[str, dt.date, str | None, int]:
    """Title, date and category; returns the index of the first dialogue line."""
    filled = [(i, n, text) for i, (n, text) in enumerate(lines) if text]
    if not filled:
        raise InputError("the page is empty", path, 1)
    _i, title_line, title = filled[0]
    if _DATE_LINE.match(title):
        raise InputError("the page starts with the date line: no title before it", path,
                         title_line)
    date: dt.date | None = None
    category: str | None = None
    for index, number, text in filled[1:]:
        match = _DATE_LINE.match(text)
        if text == title:
            dropped.append(DroppedLine(number, text, "duplicate title"))
        elif _PLAYER.match(text):
            dropped.append(DroppedLine(number, text, "player placeholder"))
        elif match and date is None:
            date = _parse_date(match.group(1), path, number)
            category = match.group(2).strip() or None
        else:
            if date is None:
                raise InputError(f"expected the date line (e.g. '2025-08-04Technology') "
                                 f"after the title, found {_quote(text)}", path, number)
            return title, date, category, index
    raise InputError("the page has no dialogue after its date line", path, filled[-1][1])


def _parse_date(value: str, path: Path, line: int) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{value!r} is not a real date", path, line) from None


_HASHTAG = re.compile(r"#[^#\s]+#")
"""A Weibo topic (``#英伟达#``) opening a turn: speech, not a Markdown heading."""


def _is_tail_start(text: str) -> bool:
    """The first line that cannot belong to the dialogue: summary, source or furniture."""
    return bool(
        (text.startswith("#") and not _HASHTAG.match(text))
        or _READ_ORIGINAL.match(text)
        or _READ_NEXT.match(text)
        or text.lower() in _TAIL_MARKERS
        or _MOVEMENT.match(text)
        or _MOVEMENTS_ON_ONE_LINE.match(text)
    )


def _dialogue_end(lines: list[Line], start: int) -> int:
    """Index just past the dialogue: the summary line, or the headline above 'Read
    original', or the first furniture line, whichever comes first."""
    for index in range(start, len(lines)):
        text = lines[index][1]
        if not _is_tail_start(text):
            continue
        if _READ_ORIGINAL.match(text):
            headline = _previous_filled(lines, index, start)
            return headline if headline is not None else index
        return index
    return len(lines)


def _previous_filled(lines: list[Line], index: int, floor: int) -> int | None:
    for back in range(index - 1, floor - 1, -1):
        if lines[back][1]:
            return back
    return None


def _read_dialogue(lines: list[Line], path: Path, dropped: list[DroppedLine]
                   ) -> tuple[list[str], list[_Turn]]:
    body: list[Line] = []
    for number, text in lines:
        if _PLAYER.match(text):
            dropped.append(DroppedLine(number, text, "player placeholder"))
        else:
            body.append((number, text))
    filled = [(n, t) for n, t in body if t]
    if not filled:
        raise InputError("the page has no dialogue", path, lines[0][0] if lines else 1)
    try:
        hosts = infer_hosts(filled, path)
    except InputError as exc:
        _refuse_empty_turn(filled, path)
        reason = exc.message.split(";")[0]
        raise InputError(f"{reason}: the page's name lines should stand alone above each turn",
                         path, exc.line) from None
    return hosts, _turns(body, set(hosts), path)


def _refuse_empty_turn(filled: list[Line], path: Path) -> None:
    """A name line directly above another (a turn that lost its text) confuses telling
    hosts from dialogue: name that line rather than the whole page."""
    counts = Counter(text for _n, text in filled)
    names = {text for text, count in counts.items() if count >= 2 and _is_name(text)}
    for (number, text), (_next, following) in itertools.pairwise(filled):
        if text in names and following in names:
            raise InputError(f"host line {_quote(text)} has no text after it", path, number)


_NOT_IN_NAMES = re.compile(r"[，。！？；：、,.!?;:\"“”()（）]")


def _is_name(text: str) -> bool:
    """Short, with letters, without punctuation: could stand alone above a turn."""
    return len(text) <= 20 and any(c.isalpha() for c in text) and not _NOT_IN_NAMES.search(text)


def _turns(body: list[Line], hosts: set[str], path: Path) -> list[_Turn]:
    turns: list[_Turn] = []
    blank_since_text = False
    for number, text in body:
        if not text:
            blank_since_text = bool(turns and turns[-1].lines)
            continue
        if text in hosts:
            if turns and not turns[-1].lines:
                raise InputError(f"host line {_quote(turns[-1].speaker)} has no text after it",
                                 path, turns[-1].line)
            turns.append(_Turn(text, number))
        elif not turns:
            raise InputError(f"expected a host's name line to open the dialogue, found "
                             f"{_quote(text)}", path, number)
        elif turns[-1].lines and _is_name(text):
            raise InputError(f"{_quote(text)} stands alone like a host's name line but "
                             "appears only once: is it a host who speaks once (then it needs "
                             "a turn after it, and a second one) or part of "
                             f"{turns[-1].speaker}'s turn?", path, number)
        elif blank_since_text:
            raise InputError(f"{_quote(text)} follows {turns[-1].speaker}'s turn after a blank "
                             "line: is it more of the turn, or page text? Join it to the turn "
                             "or remove it", path, number)
        else:
            turns[-1].lines.append(text)
        blank_since_text = False
    if turns and not turns[-1].lines:
        raise InputError(f"host line {_quote(turns[-1].speaker)} has no text after it",
                         path, turns[-1].line)
    return turns


def _read_tail(lines: list[Line], path: Path, page: _Page) -> None:
    """Summary, headline, provider, article; furniture is dropped and listed."""
    furniture = next((i for i, (_n, t) in enumerate(lines) if _is_furniture_start(t)),
                     len(lines))
    _drop_furniture(lines[furniture:], page)
    body = lines[:furniture]
    read_at = next((i for i, (_n, t) in enumerate(body) if _READ_ORIGINAL.match(t)), None)
    before = body if read_at is None else body[:read_at]
    after = [] if read_at is None else body[read_at + 1 :]
    filled = [(n, t) for n, t in before if t]
    if filled and filled[0][1].startswith("#"):
        summary_end = next((i for i, (_n, t) in enumerate(before) if not t), len(before))
        page.summary = [t for _n, t in before[:summary_end] if t]
        filled = [(n, t) for n, t in before[summary_end:] if t]
    if read_at is None:
        if filled:
            raise InputError(f"{_quote(filled[0][1])}: without a 'Read original at ...' line "
                             "the headline cannot be told from the article", path, filled[0][0])
        _read_summary_fields(page)
        return
    if len(filled) > 1:
        raise InputError(f"{_quote(filled[0][1])}: expected only the headline above "
                         f"'Read original at ...' (line {body[read_at][0]})", path, filled[0][0])
    page.headline = filled[0][1] if filled else None
    _read_provider(body[read_at], page)
    page.article = [t for _n, t in after if t]
    if page.article and _URL.fullmatch(page.article[0]) and not page.url:
        page.url = page.article.pop(0)
    _read_summary_fields(page)


def _is_furniture_start(text: str) -> bool:
    return bool(_READ_NEXT.match(text) or text.lower() in _TAIL_MARKERS
                or _MOVEMENT.match(text) or _MOVEMENTS_ON_ONE_LINE.match(text))


def _drop_furniture(lines: list[Line], page: _Page) -> None:
    after_related = False
    for number, text in lines:
        if not text:
            continue
        read_next = _READ_NEXT.match(text)
        if _MOVEMENT.match(text) or _MOVEMENTS_ON_ONE_LINE.match(text):
            names = [n.strip() for n in text.split("+") if n.strip()]
            page.movements.extend(names)
            page.dropped.append(DroppedLine(number, text, "the page's movements (used for "
                                            "sections where the dialogue marks them)"))
        elif read_next:
            tags = read_next.group(1)
            reason = "page furniture ('Read next')" + (
                f", with the tag {tags!r} glued before it" if tags else "")
            page.dropped.append(DroppedLine(number, text, reason))
        elif text.lower() in _TAIL_MARKERS:
            page.dropped.append(DroppedLine(number, text, _TAIL_MARKERS[text.lower()]))
            after_related = after_related or text.lower().startswith("related")
        else:
            reason = "listed under 'Related Podcasts'" if after_related else \
                "page furniture (after 'Read next')"
            page.dropped.append(DroppedLine(number, text, reason))


def _read_provider(line: Line, page: _Page) -> None:
    rest = _READ_ORIGINAL.match(line[1]).group(1)  # type: ignore[union-attr]
    url = _URL.search(rest)
    if url:
        page.url = url.group(0)
        rest = (rest[: url.start()] + rest[url.end() :]).strip(" -–—()")
    page.provider = rest.strip() or None


def _read_summary_fields(page: _Page) -> None:
    """Author and date from the report summary's bold fields, when it has them."""
    fields = _summary_fields(page)
    provider = fields.get("report provider") or fields.get("provider")
    if provider and page.provider and provider != page.provider:
        page.notes.append(f"the summary names the provider {provider!r}, the page "
                          f"{page.provider!r}; the page's is used")
    page.provider = page.provider or provider


# ---------------------------------------------------------------- sections


def place_sections(page: _Page) -> tuple[dict[int, str], dict[int, str]]:
    """Turn index -> heading, and turn index -> where and why it was placed (see
    ``movements``); the movements left without a heading become notes."""
    texts = [" ".join(turn.lines) for turn in page.turns]
    chinese = contains_cjk("".join(texts))
    names = list(dict.fromkeys(page.movements))
    headings: dict[int, str] = {}
    placed: dict[int, str] = {}
    placements = place_movements(texts, names)
    for placement in placements:
        zh = MOVEMENT_CUES.get(placement.movement.lower(), (placement.movement, ()))[0]
        headings[placement.turn] = zh if chinese else placement.movement
        turn = page.turns[placement.turn]
        placed[placement.turn] = (f"line {turn.line}, {turn.speaker}: "
                                  f"{_quote(texts[placement.turn], 16)}; {placement.reason}")
    headed = {p.movement for p in placements}
    by_meaning = any("by meaning" in p.reason for p in placements)
    for name in names:
        if name in headed:
            continue
        if by_meaning and len(headed) == len(names) - 1:
            page.notes.append(f"movement {name!r} opens the dialogue: its chapter is the "
                              "first, with no heading")
        else:
            page.notes.append(f"movement {name!r}: no turn announces it, so no heading for it")
    return headings, placed


# ---------------------------------------------------------------- writing


def render_script(page: _Page, sections: dict[int, str], source_name: str | None) -> str:
    meta: dict[str, object] = {"title": page.title, "date": page.date}
    if page.category:
        meta["category"] = page.category
    meta["hosts"] = list(page.hosts)
    source = _source_meta(page, source_name)
    if source:
        meta["source"] = source
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    out = ["---", front.rstrip("\n"), "---"]
    for index, turn in enumerate(page.turns):
        if index in sections:
            out += ["", f"## {sections[index]}"]
        out += [turn.speaker, *turn.lines]
    return "\n".join(out) + "\n"


def _source_meta(page: _Page, source_name: str | None) -> dict[str, object]:
    fields = _summary_fields(page)
    source: dict[str, object] = {}
    for key, value in (("title", page.headline), ("provider", page.provider),
                       ("author", fields.get("author")), ("date", _summary_date(fields, page)),
                       ("url", page.url),
                       ("file", f"sources/{source_name}" if source_name else None)):
        if value:
            source[key] = value
    return source


def _summary_fields(page: _Page) -> dict[str, str]:
    """The summary's bold fields: '**Author:** Charles Rollet' -> {'author': ...}."""
    text = " ".join(page.summary)
    return {m.group(1).lower(): m.group(2).strip() for m in _SUMMARY_FIELD.finditer(text)}


def _summary_date(fields: dict[str, str], page: _Page) -> dt.date | None:
    value = fields.get("date")
    if not value:
        return None
    match = re.match(r"([A-Z][a-z]+ \d{1,2}, \d{4})", value)
    if match:
        try:
            return dt.datetime.strptime(match.group(1), "%B %d, %Y").date()
        except ValueError:
            pass
    page.notes.append(f"the summary's date {value!r} is not 'Month D, YYYY': left out")
    return None


def render_source(page: _Page) -> str:
    """The article as on the page, then the report summary under a rule of its own."""
    parts = ["\n\n".join(page.article)] if page.article else []
    if page.summary:
        summary = "\n".join(_SUMMARY_BREAK.sub("\n", line) for line in page.summary)
        parts.append(f"{_SUMMARY_RULE}\n\n{summary}")
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class RoundTrip:
    """Where each turn of the written script came from on the page, so a script that would
    not read back is refused at the page's line, not at a line of a file that is gone."""

    page: Path
    lines: list[int]
    speakers: list[str]

    def page_line(self, script_text: str, script_line: int | None) -> int | None:
        """The page line of the turn that holds ``script_line`` of the written script."""
        if script_line is None or not self.lines:
            return None
        names = set(self.speakers)
        before = sum(1 for text in script_text.splitlines()[:script_line]
                     if text.strip() in names)
        return self.lines[min(max(before - 1, 0), len(self.lines) - 1)]


def _write_new(script_path: Path, script_text: str, source_path: Path | None,
               source_text: str | None, turns: int, origin: RoundTrip | None = None) -> None:
    """Stage both files, parse the script back, then link them into place: both land or
    neither does, and an existing file is never replaced."""
    for target in (script_path, source_path):
        if target is not None and target.exists():
            raise InputError("already exists; not overwriting it (move it away first)", target)
    script_path.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=script_path.parent, prefix=".import-"))
    try:
        staged_script = stage / script_path.name
        staged_script.write_text(script_text, encoding="utf-8")
        staged_source = None
        if source_path is not None and source_text is not None:
            staged_source = stage / "sources" / source_path.name
            staged_source.parent.mkdir()
            staged_source.write_text(source_text, encoding="utf-8")
        _check_round_trip(staged_script, stage, turns, script_text, origin)
        new = [(script_path, script_text.encode("utf-8"))]
        if source_path is not None and source_text is not None:
            new.insert(0, (source_path, source_text.encode("utf-8")))
        try:
            ProducerFiles(script_path.parent).create_together(new)
        except FileExists as exc:
            raise InputError("already exists; not overwriting it (move it away first)",
                             exc.path) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _check_round_trip(staged: Path, stage: Path, turns: int, script_text: str = "",
                      origin: RoundTrip | None = None) -> None:
    try:
        script = parse_script(staged, workspace=stage)
    except InputError as exc:
        if origin is None:
            raise
        raise InputError(f"the script written from this page would not read back: "
                         f"{exc.message}", origin.page,
                         origin.page_line(script_text, exc.line)) from None
    if len(script.turns) != turns:
        where, line = (origin.page, _first_split_turn(script, origin)) if origin else (None,
                                                                                     None)
        raise InputError(f"the written script would read as {len(script.turns)} turns, not "
                         f"{turns}: a turn's text looks like a host line or a heading",
                         where, line)


def _first_split_turn(script: Script, origin: RoundTrip) -> int | None:
    """The page line of the first turn whose speaker the read-back script does not have at
    the same place: where the page's text was taken for a host line or a heading."""
    for index, turn in enumerate(script.turns):
        if index >= len(origin.speakers) or turn.speaker != origin.speakers[index]:
            return origin.lines[min(index, len(origin.lines) - 1)]
    return origin.lines[min(len(script.turns), len(origin.lines) - 1)] if origin.lines else None


def _quote(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")

