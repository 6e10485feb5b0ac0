"""What a build looks like at the terminal, for one script or many and whichever executor
ran it: one live display while it runs, then the same lines for every outcome, the same
summary and the same exit code (``duopod.build.exit_code``).

The display knows each script's turns up front (the preflight parsed it), estimates the
time left from the measured rate, and fits one line per script into 80 columns; every
piece of producer text in it is shown literally.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table

from ..build.outcome import BuildEvent, BuildOutcome, OnEvent, built_text, state_line
from ..site.templates import clock
from .display import plain, styled, text

_LABELS = {
    "waiting": "waiting",
    "rendering": "rendering",
    "mixing": "mixing",
    "encoding": "encoding",
    "publishing": "publishing",
    "published": "landed",
    "failed": "failed",
}
NAME_WIDTH = 22


@contextmanager
def build_display(console: Console, scripts: Sequence[Path]) -> Iterator[OnEvent]:
    """A live display with a line per script; yields the ``on_event`` to build with."""
    with Progress(
        TextColumn("{task.description}", markup=False,
                   table_column=Column(no_wrap=True, max_width=NAME_WIDTH)),
        BarColumn(bar_width=10),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}", markup=False,
                   table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
        TimeRemainingColumn(compact=True, elapsed_when_finished=True),
        console=console, transient=True, expand=True, disable=not console.is_terminal,
    ) as progress:
        tasks: dict[Path, TaskID] = {
            path: progress.add_task(_short(path.name), total=None, status="")
            for path in dict.fromkeys(scripts)
        }

        def on_event(event: BuildEvent) -> None:
            task = tasks.get(event.script)
            if task is None:
                return
            progress.update(task, completed=event.done, total=event.total or None,
                            status=_status(event))

        yield on_event


def _short(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"


def _status(event: BuildEvent) -> str:
    if event.kind == "turn":
        label = f"turns, {event.cached} cached"
        if "retrying" in event.detail or "failed" in event.detail:
            label = event.detail
        return label
    label = _LABELS.get(event.kind, event.kind)
    return f"{label}: {event.detail}" if event.kind == "failed" and event.detail else label


def report(out: Console, err: Console, outcomes: Sequence[BuildOutcome], feed: Path,
           jobs: int, executor: str) -> None:
    """The lines every build prints after its display: each episode that landed, each
    problem publishing met, each failure; for several scripts a summary table too."""
    single = len(outcomes) == 1
    for outcome in outcomes:
        if outcome.ok:
            _built(out, outcome)
    # each landing reports what it met on the site; the same lost file once, not per episode
    for problem in dict.fromkeys(p for o in outcomes for p in o.problems):
        plain(err, f"duopod: warning: {problem}")
    if not single:
        _print_table(out, summary(outcomes, jobs, executor))
    for outcome in outcomes:
        if outcome.ok:
            continue
        if single:  # one script: the reason is the whole story, as any error
            plain(err, f"duopod: error: {outcome.error}")
        else:  # in full, outside the table: the reason is the point
            styled(out, "[red]failed[/red] {script}: {why}{error}", script=outcome.script,
                why="bad input: " if outcome.bad_input else "", error=outcome.error)
    plain(out, f"feed: {feed}")
    if single and outcomes[0].ok:
        plain(out, state_line(outcomes[0]))
    elif not single:
        plain(out, _tally(outcomes))


def _built(out: Console, o: BuildOutcome) -> None:
    styled(out, "[green]built[/green] {text}", text=built_text(o))
    if o.directory is not None:
        plain(out, f"  {o.directory / (o.audio_file or '')}")
        plain(out, f"  {o.directory / 'index.html'}")


def _tally(outcomes: Sequence[BuildOutcome]) -> str:
    counts = {"published": 0, "draft": 0, "scheduled": 0}
    for o in outcomes:
        if o.ok:
            counts[o.state] = counts.get(o.state, 0) + 1
    failed = sum(not o.ok for o in outcomes)
    parts = [f"{counts['published']} published"]
    if counts["draft"]:
        parts.append(f"{counts['draft']} draft (not in the feed)")
    if counts["scheduled"]:
        parts.append(f"{counts['scheduled']} scheduled (not in the feed yet)")
    parts.append(f"{failed} failed")
    return ", ".join(parts)


def summary(outcomes: Sequence[BuildOutcome], jobs: int, executor: str = "") -> Table:
    """One row per script: what landed, and for what failed, why."""
    failed = sum(not o.ok for o in outcomes)
    where = f"{jobs} at a time" if executor != "queue" else "on the queue"
    table = Table(title=text(f"{len(outcomes) - failed} built, {failed} failed ({where})"),
                  title_justify="left")
    table.add_column("script", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("episode", overflow="fold")
    for column in ("length", "turns", "engine", "seconds"):
        table.add_column(column)
    for o in outcomes:
        seconds = f"{o.finished - o.started:.1f}" if o.finished else "-"
        if o.ok:
            table.add_row(text(o.script), text(o.state, "green"), text(o.slug or ""),
                          clock(o.duration), f"{o.rendered}+{o.cached} cached",
                          text(o.engine or ""), seconds)
        else:
            why = "bad input" if o.bad_input else "failed"
            table.add_row(text(o.script), text(why, "red"), "(below)", "", "",
                          text(o.engine or ""), seconds)
    return table


def _print_table(out: Console, table: Table) -> None:
    # a log or a pipe has no width to fit: print the table whole rather than squeezed into
    # 80 columns (slugs and paths broken over several lines)
    if out.is_terminal:
        out.print(table)
    else:
        natural = Measurement.get(out, out.options.update_width(1000), table).maximum
        Console(file=out.file, width=max(out.width, natural), markup=False,
                highlight=False).print(table)


