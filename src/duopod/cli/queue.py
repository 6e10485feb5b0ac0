"""The terminal side of the distributed queue: ``duopod enqueue``, ``duopod worker`` and
``duopod queue status``. The work is in ``duopod.build.queue``."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.table import Table

from ..build.pipeline import BuildOptions
from ..errors import DuopodError
from ..show.workspace import Workspace


def _connect(url: str | None, heartbeat: float | None = None) -> Any:
    try:
        import redis

        from ..build.queue import DEFAULT_HEARTBEAT, connect, queue_url
    except ImportError as exc:
        raise DuopodError(f"the queue needs Dramatiq and redis ({exc.name} is missing): "
                          "pip install 'duopod[queue]'") from None

    queue = connect(url, DEFAULT_HEARTBEAT if heartbeat is None else heartbeat)
    try:
        queue.client.ping()
    except redis.exceptions.ConnectionError as exc:
        raise DuopodError(f"cannot reach the queue at {queue_url(url)}: {exc}") from None
    return queue


def enqueue_cli(ws: Workspace, scripts: list[Path], options: BuildOptions, url: str | None,
                out: Console) -> None:
    from ..build.queue import enqueue

    queue = _connect(url)
    for path, job in zip(scripts, enqueue(ws, scripts, options, queue), strict=True):
        out.print(f"queued {path}  job {job}")


def worker_cli(ws: Workspace, url: str | None, queues: tuple[str, ...], heartbeat: float,
               err: Console) -> None:
    """Run a worker until SIGINT or SIGTERM; the job in hand finishes first (a second
    signal, or SIGKILL, does not wait: the queue gives the job to another worker)."""
    from ..build.queue import BUILD_QUEUE, PUBLISH_QUEUE, queue_url, run_worker

    unknown = set(queues) - {BUILD_QUEUE, PUBLISH_QUEUE}
    if unknown:
        raise DuopodError(f"unknown queue(s) {', '.join(sorted(unknown))}: "
                          "choose build, publish or both")
    _connect(url, heartbeat)  # a clear error now rather than a retry loop later
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        err.print(f"worker: {signal.Signals(signum).name}: stopping after the current job")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    err.print(f"worker for {ws.root} on {queue_url(url)}: {', '.join(queues)} "
              f"(heartbeat {heartbeat:g} s)")
    run_worker(ws.root, url, queues, heartbeat, stop)


def status_cli(url: str | None, out: Console) -> None:
    from ..build.queue import status

    counts, jobs = status(_connect(url))
    out.print("  ".join(f"{name} {count}" for name, count in counts.items()))
    table = Table("job", "script", "state", "runs", "where", "updated", "detail")
    now = time.time()
    for job, record in jobs:
        where = record.get("publisher") or record.get("worker") or ""
        if "silent" in record and record["silent"] > 5:
            where += f" (silent {record['silent']:.0f} s)"
        detail = record.get("error") or record.get("slug") or ""
        table.add_row(job[:8], record.get("script", ""), record.get("state", ""),
                      str(record.get("runs", 0)), where,
                      f"{now - record.get('updated', now):.0f} s ago", detail)
    out.print(table)
