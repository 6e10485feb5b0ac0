"""``duopod verify SLUG``: hear a published episode as a listener does and list the
sentences heard far from the script (``duopod build --verify`` does the same through
``build.scripts``). The work is in ``duopod.verify``; ``--fix`` adds the accepted lexicon
lines and builds the episode again (only the turns whose spoken text changed are rendered
again: the speech cache is keyed on it), then hears it again.

Exit codes: 0 every sentence heard well, 1 sentences flagged, 2 verification could not
run (no such episode, the ``verify`` extra not installed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .building import print_report
from .display import err, out, plain

if TYPE_CHECKING:
    from ..show.workspace import Workspace
    from ..verify import LexiconLine, VerifyReport

ThresholdOption = Annotated[float, typer.Option(
    min=0.0, max=1.0, help="Character error rate over which a sentence is flagged.")]


def hear(ws: Workspace, slug: str, threshold: float) -> VerifyReport:
    from ..verify import listening_line, verify_episode

    plain(err, listening_line(slug))
    return verify_episode(ws, slug, threshold=threshold)


def _accepted(report: VerifyReport, yes: bool) -> list[LexiconLine]:
    from ..errors import InputError

    offered = [line for line in report.suggestions() if line.spoken is not None]
    if yes or not offered:
        return offered
    if not sys.stdin.isatty():
        raise InputError("--fix asks before changing lexicon.toml: give --yes to accept "
                         "every suggestion without a terminal")
    return [line for line in offered
            if typer.confirm(f"add to lexicon.toml [{line.table}]  {line.toml()}",
                             default=True)]


def fix(ws: Workspace, report: VerifyReport, yes: bool, threshold: float) -> VerifyReport:
    """Add the accepted lines, build the episode again with its engine, hear it again."""
    from ..build.options import BuildOptions
    from ..verify import add_to_lexicon
    from ..verify.episode import read_episode
    from .building import build_and_report

    edit = add_to_lexicon(ws.root, _accepted(report, yes), lexicon=ws.show.lexicon)
    for line in edit.added:
        plain(out, f"lexicon   added [{line.table}] {line.toml()}  ({edit.path})")
    for line, why in edit.kept:
        plain(out, f"lexicon   not added {line.term!r}: {why}")
    if not edit.added:
        return report
    script = ws.root / read_episode(ws, report.slug).script
    code = build_and_report(ws, [script], BuildOptions(engine=report.engine), None, None)
    if code != 0:
        raise typer.Exit(code)
    after = hear(ws, report.slug, threshold)
    print_report(ws, after)
    plain(out, f"verify {report.slug}: {len(after.flagged)} flagged after the fix "
               f"(was {len(report.flagged)})")
    return after


def verify(
    slug: Annotated[str, typer.Argument(help="The episode's folder name under episodes/.")],
    threshold: ThresholdOption = 0.25,
    fix_: Annotated[bool, typer.Option(
        "--fix", help="Add the suggested lexicon lines you accept (asked one by one) and "
        "build the episode again.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="With --fix: accept every suggestion.")]
    = False,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="The show's folder (holds show.toml).")] = None,
) -> None:
    """Transcribe every sentence of a built episode's MP3 and list those heard far from
    the script, with the terms misheard and a lexicon line to try (needs the verify extra).

    Example: duopod verify 2025-12-10-xin-pian-chu-kou-xin-gui --fix
    """
    from ..show.workspace import load_workspace

    ws = load_workspace(workspace)
    report = hear(ws, slug, threshold)
    print_report(ws, report)
    if fix_ and report.flagged:
        report = fix(ws, report, yes, threshold)
    raise typer.Exit(report.exit_code)
