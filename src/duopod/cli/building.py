"""The command line's build: ``duopod build`` (and ``verify --fix``'s rebuild) through the
library's ``build_scripts``, with one display for 1..N scripts, the verify report when
``--verify`` heard the episodes, the deploy's line, and the exit code every executor
shares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from .display import err, notice, out, plain, text

if TYPE_CHECKING:
    from ..build.options import BuildOptions
    from ..show.workspace import Workspace
    from ..verify import VerifyReport

__all__ = ["build_and_report", "print_report"]


def build_and_report(ws: Workspace, scripts: list[Path], options: BuildOptions, jobs: int | None,
           queue: str | None) -> int:
    """Build through the library (it picks the executor), with one display for 1..N
    scripts, and the exit code every executor shares."""
    from ..build.pool import BUILD_CORES, default_jobs, usable_cores
    from ..build.scripts import build_scripts
    from .progress import build_display, report

    if jobs is not None and jobs > default_jobs() and len(scripts) > 1 and queue is None:
        notice(f"one build keeps about {BUILD_CORES:g} of this machine's {usable_cores()} "
                f"cores busy, so --jobs {jobs} gains little over --jobs {default_jobs()} here")
    with build_display(err, scripts) as on_event:
        run = build_scripts(ws, scripts, options, jobs=jobs, queue=queue, on_event=on_event,
                            notice=notice)
    report(out, err, run.outcomes, ws.episodes_dir / "feed.xml", run.jobs, run.executor)
    if run.verified:
        for heard in run.verified:
            print_report(ws, heard)
    if run.held_back is not None:
        plain(err, f"duopod: not deployed: {run.held_back}")
    if run.deployed is not None:
        sent = run.deployed
        plain(out, f"deploy {sent.target}: sent {len(sent.uploaded)} file(s) "
                   f"({sent.bytes_uploaded:,} bytes), {len(sent.skipped)} unchanged, "
                   f"{sent.seconds:.1f} s")
        for problem in sent.notify_problems:
            plain(err, f"duopod: warning: {problem}")
    return run.exit_code




def _time(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def print_report(ws: Workspace, report: VerifyReport) -> None:
    from ..verify import report_path

    flagged = report.flagged
    if flagged:
        table = Table(show_lines=True)
        for column in ("turn", "time", "CER", "said", "heard", "misheard", "lexicon line to try"):
            table.add_column(column, overflow="fold")  # the whole sentence, never cut off
        for s in flagged:
            lines = "\n".join(f"[{line.table}] {line.toml()}"
                              + (f" ({line.note})" if line.note else "") for line in s.suggestions)
            table.add_row(text(s.turn), text(_time(s.start)), text(f"{s.cer:.2f}"),
                          text(s.said), text(s.heard), text(", ".join(s.misheard)), text(lines))
        out.print(table)
    speed = report.seconds / max(report.heard_seconds / 60, 1e-9)
    plain(out, f"verify {report.slug}: {len(flagged)} of {len(report.sentences)} sentence(s) "
               f"flagged (CER over {report.threshold:.2f} or a term misheard), mean CER "
               f"{report.mean_cer:.3f}; heard {report.heard_seconds:.0f} s in "
               f"{report.seconds:.1f} s, {report.cpu_seconds:.1f} s of CPU ({speed:.1f} s per "
               "audio minute)")
    plain(out, f"report: {report_path(ws, report.slug)}")


