"""``duopod draft``: the writers' room at the terminal. The work is in ``duopod.draft``;
this module reads the options, prints the problems turn by turn and the token/cost line."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import InputError
from .display import out, plain

if TYPE_CHECKING:  # the draft package loads only when a command runs
    from ..draft.checks import Problem
    from ..draft.model import ChatEngine
    from ..draft.settings import WriterSettings


def draft(
    article: Annotated[str | None, typer.Argument(
        help="The article: a text file, or - for standard input.")] = None,
    url: Annotated[str | None, typer.Option(help="Where the article was published.")] = None,
    title: Annotated[str | None, typer.Option(help="The episode's title (else the model's).")]
    = None,
    date: Annotated[str | None, typer.Option(help="The episode's date, YYYY-MM-DD (today).")]
    = None,
    minutes: Annotated[float | None, typer.Option(
        min=0.5, max=120, help="Spoken length asked (the format's default).")] = None,
    format_name: Annotated[str | None, typer.Option(
        "--format", help="The episode's shape: discussion (default), brief, deep-dive, "
        "debate, critique.")] = None,
    guest: Annotated[list[str] | None, typer.Option(
        help="A guest who speaks in the episode (a voice profile in voices/); repeatable.")]
    = None,
    language: Annotated[str | None, typer.Option(help="The episode's language (the show's).")]
    = None,
    hosts: Annotated[str | None, typer.Option(help="Two hosts, comma-separated.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="The script to write (never "
                                                  "overwritten).")] = None,
    base_url: Annotated[str | None, typer.Option(help="The chat server ([writer] base_url).")]
    = None,
    model: Annotated[str | None, typer.Option(help="The model ([writer] model).")] = None,
    model_path: Annotated[Path | None, typer.Option(
        help="A GGUF model file run in-process, no server ([writer] model_path).")] = None,
    revise: Annotated[Path | None, typer.Option(help="Rewrite one turn of this script.")]
    = None,
    turn: Annotated[int | None, typer.Option(help="With --revise: the turn, from 1.")] = None,
    note: Annotated[str | None, typer.Option(help="With --revise: what to change.")] = None,
    workspace: Annotated[Path | None, typer.Option("--workspace", "-w", help="The show's "
                                                   "folder.")] = None,
) -> None:
    """Draft a two-host script from an article with a language model (show.toml: writer).

    Example: duopod draft sources/h200.txt --minutes 5 --date 2025-12-10
    """
    from ..draft import ChatOptions, get_chat_engine
    from ..show.workspace import load_workspace

    ws = load_workspace(workspace)
    settings = ws.show.writer.with_overrides(base_url, model, model_path)
    options = ChatOptions(retry_for=settings.retry_for, deadline=settings.deadline,
                          concurrency=settings.concurrency, stream=settings.stream,
                          cache_dir=ws.cache_dir)
    engine = get_chat_engine(settings, options)
    if revise is not None:
        from ..draft.writer import revise_turn

        if turn is None or not note:
            raise InputError("--revise needs --turn N and --note TEXT")
        revised = revise_turn(ws, engine, revise, turn, note, language)
        plain(out, f"revised turn {revised.turn} of {revise}")
        for problem in revised.problems:
            plain(out, f"  {problem.line()}")
        plain(out, engine.usage.line(settings.price_prompt, settings.price_completion))
        return
    if article is None:
        raise InputError("name the article (a file, or - for standard input)")
    from ..draft.formats import get_format
    from ..draft.writer import DraftRequest, draft_script, read_article

    shape = get_format(format_name)
    guests = tuple(dict.fromkeys(g.strip() for g in guest or () if g.strip()))
    personas = {k: v for k, v in settings.personas.items() if k not in guests}
    request = DraftRequest(
        article=read_article(article), format=shape, guests=guests,
        hosts=_hosts(ws, hosts, personas, language or ws.show.language, guests),
        language=language or ws.show.language, date=_date(date),
        minutes=shape.minutes if minutes is None else minutes,
        title=title, url=url, out=out_path, length_passes=settings.length_passes)
    result = draft_script(ws, engine, request, settings.personas, settings.greeting,
                          settings.sign_off)
    passes = (f" after {result.length_passes} length pass"
              f"{'es' if result.length_passes > 1 else ''}" if result.length_passes else "")
    plain(out, f"drafted {result.script} ({result.turns} turns, about "
               f"{result.checked.minutes:.1f} min{passes}, status: draft)")
    report_problems(result.problems, result.sidecar, engine, settings)


def report_problems(problems: Sequence[Problem], sidecar: Path, engine: ChatEngine,
                    settings: WriterSettings) -> None:
    """What a draft or a translation found, turn by turn, then the model's token/cost line."""
    for problem in problems:
        plain(out, f"  {problem.line()}")
    if problems:
        plain(out, f"{len(problems)} problems, listed in the front matter and {sidecar.name}")
    plain(out, engine.usage.line(settings.price_prompt, settings.price_completion))


def _hosts(ws: object, given: str | None, personas: dict[str, str], language: str,
           guests: tuple[str, ...] = ()) -> tuple[str, ...]:
    from ..show.workspace import Workspace

    assert isinstance(ws, Workspace)
    if given:
        return tuple(h.strip() for h in re.split(r"[,，、]", given) if h.strip())
    if len(personas) >= 2:
        return tuple(personas)[:2]
    from ..draft.checks import is_chinese
    from ..draft.writer import host_languages

    primary = "zh" if is_chinese(language) else language.split("-")[0].lower()
    speakers = [p.speaker for p in ws.profiles.values() if p.speaker not in guests]
    return tuple([s for s in speakers if primary in host_languages(ws, s)] or speakers)[:2]


def _date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--date must be YYYY-MM-DD, not {value!r}") from None
