"""The terminal side of ``duopod build`` with several scripts: one live display for all the
episodes being built at once, and a summary table that says which failed and why. The work
itself is ``duopod.build.pool.build_many``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ..build.pipeline import BuildOptions
from ..build.pool import BuildEvent, BuildOutcome, build_many, default_jobs, exit_code
from ..publish.templates import clock
from ..show.workspace import Workspace

_LABELS = {
    "waiting": "[dim]waiting[/dim]",
    "rendering": "rendering",
    "mixing": "mixing",
    "encoding": "encoding",
    "publishing": "publishing",
    "published": "[green]published[/green]",
    "failed": "[red]failed[/red]",
}


def build_many_cli(ws: Workspace, scripts: list[Path], options: BuildOptions,
                   jobs: int | None, out: Console, err: Console,
                   notice: Callable[[str], None]) -> int:
    """Build ``scripts`` ``jobs`` at a time with one progress display; print the summary;
    return the exit code (0, 1, or 2 when every failure was bad input)."""
    jobs = jobs or default_jobs()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
        console=err, transient=True,
    ) as progress:
        tasks: dict[Path, TaskID] = {
            path: progress.add_task(path.name, total=None, status="") for path in scripts
        }

        def on_event(event: BuildEvent) -> None:
            progress.update(tasks[event.script], completed=event.done,
                            total=event.total or None, status=_status(event))

        outcomes = build_many(ws, scripts, options, jobs, on_event, notice)
    table = summary(outcomes, jobs)
    # a log or a pipe has no width to fit: print the table whole rather than squeezed into
    # 80 columns (slugs and paths broken over several lines)
    if out.is_terminal:
        out.print(table)
    else:
        natural = Measurement.get(out, out.options.update_width(1000), table).maximum
        Console(file=out.file, width=max(out.width, natural)).print(table)
    for o in outcomes:
        if not o.ok:  # in full, outside the table: the reason is the point
            out.print(f"[red]failed[/red] {o.script}: "
                      f"{'bad input: ' if o.bad_input else ''}{o.error}")
    out.print(f"feed: {ws.episodes_dir / 'feed.xml'}")
    return exit_code(outcomes)


def _status(event: BuildEvent) -> str:
    label = _LABELS.get(event.kind, "")
    if event.kind == "turn":
        label = f"turns ({event.cached} cached)"
    if event.kind == "failed":
        return f"{label}: {event.detail}"
    return label


def summary(outcomes: list[BuildOutcome], jobs: int) -> Table:
    """One row per script: what landed, and for what failed, why."""
    failed = sum(not o.ok for o in outcomes)
    table = Table(title=f"{len(outcomes) - failed} built, {failed} failed "
                        f"({jobs} at a time)", title_justify="left")
    table.add_column("script", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("episode", overflow="fold")
    for column in ("length", "turns", "engine", "seconds"):
        table.add_column(column)
    for o in outcomes:
        seconds = f"{o.finished - o.started:.1f}" if o.finished else "-"
        if o.ok:
            table.add_row(str(o.script), "[green]published[/green]", o.slug or "",
                          clock(o.duration), f"{o.rendered}+{o.cached} cached",
                          o.engine or "", seconds)
        else:
            why = "bad input" if o.bad_input else "failed"
            table.add_row(str(o.script), f"[red]{why}[/red]", "(below)", "", "",
                          o.engine or "", seconds)
    return table
