"""The terminal side of the distributed queue: ``duopod enqueue``, ``duopod worker`` and
``duopod queue status``. The work is in ``duopod.build.queue``; every address printed here
has its password redacted."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from ..build.options import BuildOptions
from ..errors import DuopodError
from ..show.workspace import Workspace
from ..urls import redact_url
from .display import plain, text

if TYPE_CHECKING:  # the queue's modules need its extra: imported where it is used
    from ..build.queue import JobStatus

EXTRA_HINT = "pip install 'duopod[queue]'"


def _queue_module() -> Any:
    """``duopod.build.queue``, or one line naming the extra to install."""
    try:
        import redis  # noqa: F401

        from ..build import queue
    except ImportError as exc:
        raise DuopodError(f"the queue needs Dramatiq and redis ({exc.name} is missing): "
                          f"{EXTRA_HINT}") from None
    return queue


def _connect(ws: Workspace, url: str | None, heartbeat: float | None = None) -> Any:
    import redis

    queue_module = _queue_module()
    address = queue_module.queue_url(url)
    queue = queue_module.connect(
        ws, address, queue_module.DEFAULT_HEARTBEAT if heartbeat is None else heartbeat)
    try:
        queue.client.ping()
    except redis.exceptions.RedisError as exc:
        message = str(exc).replace(address, redact_url(address))
        raise DuopodError(f"cannot reach the queue at {redact_url(address)}: "
                          f"{_without_secrets(message, address)}") from None
    return queue


def _without_secrets(message: str, url: str) -> str:
    """A client's error message may quote the address or its password: never print them."""
    from urllib.parse import urlsplit

    password = urlsplit(url).password
    return message.replace(password, "***") if password else message


def enqueue_cli(ws: Workspace, scripts: list[Path], options: BuildOptions, url: str | None,
                out: Console) -> None:
    queue = _connect(ws, url)
    for path, job in zip(scripts, _queue_module().enqueue(ws, scripts, options, queue),
                         strict=True):
        plain(out, f"queued {path}  job {job}")


def worker_cli(ws: Workspace, url: str | None, queues: tuple[str, ...], heartbeat: float,
               err: Console) -> None:
    """Run a worker until SIGINT or SIGTERM; the job in hand finishes first (a second
    signal, or SIGKILL, does not wait: the queue gives the job to another worker)."""
    queue_module = _queue_module()
    unknown = set(queues) - {queue_module.BUILD_QUEUE, queue_module.PUBLISH_QUEUE}
    if unknown:
        raise DuopodError(f"unknown queue(s) {', '.join(sorted(unknown))}: "
                          "choose build, publish or both")
    _connect(ws, url, heartbeat)  # a clear error now rather than a retry loop later
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        plain(err, f"worker: {signal.Signals(signum).name}: stopping after the current job")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    address = redact_url(queue_module.queue_url(url))
    plain(err, f"worker for {ws.root} on {address}: {', '.join(queues)} "
               f"(heartbeat {heartbeat:g} s, show key {queue_module.show_key(ws)})")
    queue_module.run_worker(ws.root, url, queues, heartbeat, stop)


def status_cli(ws: Workspace, url: str | None, out: Console) -> None:
    found: tuple[dict[str, int], list[JobStatus]] = _queue_module().status(_connect(ws, url))
    counts, jobs = found
    plain(out, "  ".join(f"{name} {count}" for name, count in counts.items()))
    table = Table("job", "script", "state", "runs", "where", "updated", "detail")
    now = time.time()
    for shown in jobs:
        record = shown.record
        where = record.publisher or record.worker or ""
        if shown.silent is not None and shown.silent > 5:
            where += f" (silent {shown.silent:.0f} s)"
        detail = record.error or record.slug or ""
        updated = record.updated or now
        table.add_row(text(shown.job[:8]), text(record.script), text(record.state),
                      str(record.runs), text(where), f"{now - updated:.0f} s ago",
                      text(detail))
    out.print(table)
