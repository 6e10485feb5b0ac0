"""``duopod deploy``: the published site to its bucket or folder (``duopod.deploy``), with
one line per file sent or deleted and a summary. Target URLs are printed as show.toml has
them; credentials never pass through here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .display import err, out, plain


def deploy(
    target: Annotated[str | None, typer.Argument(
        help="The target: a deploy.NAME table of show.toml (default: the only one).")] = None,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Delete files in the target that the site no longer has (never one "
        "the new feed names).")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would be sent and deleted; write nothing.")] = False,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="The show's folder (holds show.toml).")] = None,
) -> None:
    """Deploy the published site (episodes/) to S3-compatible storage or a folder:
    changed files only, media and pages first, feed.xml last.

    Example: duopod deploy cdn --prune
    """
    from ..deploy import DeployEvent, deploy_show
    from ..show.workspace import load_workspace

    ws = load_workspace(workspace)

    def on_event(event: DeployEvent) -> None:
        if event.kind in ("put", "feed"):
            plain(out, f"  sent    {event.key} ({event.size:,} bytes)")
        elif event.kind == "delete":
            plain(out, f"  deleted {event.key}")
        elif event.kind == "notified":
            plain(out, f"  told    {event.key}")

    report = deploy_show(ws, target, prune=prune, dry_run=dry_run,
                         on_event=None if dry_run else on_event)
    if report.republished_from is not None:
        done = "would publish it again" if dry_run else "published it again"
        plain(out, f"  the site was published for {report.republished_from}, show.toml's "
                   f"base_url is {ws.show.base_url}: {done} for the new address first")
    if dry_run:
        for key in report.uploaded:
            plain(out, f"  would send   {key}")
        for key in report.deleted:
            plain(out, f"  would delete {key}")
    for problem in report.notify_problems:
        plain(err, f"duopod: warning: {problem}")
    verb = "would send" if dry_run else "sent"
    plain(out, f"deploy {report.target}: {verb} {len(report.uploaded)} file(s) "
               f"({report.bytes_uploaded:,} bytes), {len(report.skipped)} unchanged, "
               f"{len(report.deleted)} deleted, {report.seconds:.1f} s")
