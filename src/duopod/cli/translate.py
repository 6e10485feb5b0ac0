"""``duopod translate``: a script's version in another language, at the terminal. The work
is in ``duopod.draft.translate``; this module reads the options and prints the problems
turn by turn and the token/cost line, as ``duopod draft`` does."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .display import out, plain
from .draft import report_problems


def translate(
    script: Annotated[Path, typer.Argument(help="The script to translate.")],
    to: Annotated[str, typer.Option("--to", help="The version's language, e.g. en-US.")],
    out_path: Annotated[Path | None, typer.Option("--out", help="The script to write (never "
                                                  "overwritten; default: beside it, "
                                                  "STEM.LANG.md).")] = None,
    base_url: Annotated[str | None, typer.Option(help="The chat server ([writer] base_url).")]
    = None,
    model: Annotated[str | None, typer.Option(help="The model ([writer] model).")] = None,
    model_path: Annotated[Path | None, typer.Option(
        help="A GGUF model file run in-process, no server ([writer] model_path).")] = None,
    workspace: Annotated[Path | None, typer.Option("--workspace", "-w", help="The show's "
                                                   "folder.")] = None,
) -> None:
    """Write a script's version in another language with a language model (show.toml:
    writer): the same hosts, sections, turns and stage directions, every number and name
    kept; linked to the original in the feeds and pages once built.

    Example: duopod translate scripts/2025-12-10-h200.md --to en-US
    """
    from ..draft import get_chat_engine
    from ..draft.settings import chat_options
    from ..draft.translate import translate_script
    from ..show.workspace import load_workspace

    ws = load_workspace(workspace)
    settings = ws.show.writer.with_overrides(base_url, model, model_path)
    engine = get_chat_engine(settings, chat_options(settings, ws.cache_dir))
    result = translate_script(ws, engine, script, to, out_path)
    plain(out, f"translated {result.script} ({result.turns} turns in {result.sections} "
               f"sections, {to}, status: draft)")
    report_problems(result.problems, result.sidecar, engine, settings)
