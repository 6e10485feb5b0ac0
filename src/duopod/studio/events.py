"""A build started from the studio, and its progress as server-sent events.

The build is ``build.scripts.build_scripts``, the CLI's own, run on a worker thread with
an ``OnEvent`` callback; each ``BuildEvent`` is kept (so a page that connects late, or
reconnects, replays them) and handed to the connected pages. The last event is the
outcome: the same messages and exit code ``duopod build`` prints and returns.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from ..build.options import BuildOptions
from ..build.outcome import BuildEvent, built_text, state_line
from ..build.scripts import BuildRun, build_scripts
from ..errors import DuopodError
from ..show.workspace import Workspace

_ids = itertools.count(1)


@dataclass
class BuildJob:
    """One build: its events so far, and whether it has ended."""

    id: int
    script: Path
    stale: int
    events: list[dict[str, object]] = field(default_factory=list)
    done: bool = False
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def add(self, event: dict[str, object]) -> None:
        async with self.changed:
            self.events.append(event)
            self.done = self.done or event["kind"] == "outcome"
            self.changed.notify_all()


class Builds:
    """The builds of this studio run, one at a time, in the order asked (two builds of one
    show at once would race for its feed): a queue and one worker thread, started when a
    build is queued and gone when the queue is empty, however many builds are waiting."""

    def __init__(self) -> None:
        self.jobs: dict[int, BuildJob] = {}
        self._waiting: collections.deque[Callable[[], None]] = collections.deque()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def start(self, workspace: Workspace, script: Path, options: BuildOptions, stale: int
              ) -> BuildJob:
        loop = asyncio.get_running_loop()
        job = BuildJob(next(_ids), script, stale)
        self.jobs[job.id] = job

        def emit(event: dict[str, object]) -> None:
            asyncio.run_coroutine_threadsafe(job.add(event), loop)

        def work() -> None:
            try:
                run = build_scripts(workspace, [script], options, jobs=1,
                                    on_event=lambda e: emit(event_json(e)),
                                    notice=lambda m: emit({"kind": "notice", "detail": m}))
                emit(outcome_json(run, workspace.episodes_dir / "feed.xml"))
            except DuopodError as exc:
                emit({"kind": "outcome", "exit_code": exc.exit_code, "messages": [str(exc)],
                      "outcomes": []})
            except Exception as exc:
                emit({"kind": "outcome", "exit_code": 1,
                      "messages": [f"build failed: {exc.__class__.__name__}: {exc}"],
                      "outcomes": []})

        with self._lock:
            self._waiting.append(work)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="studio-builds",
                                                daemon=True)
                self._worker.start()
        return job

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._worker = None
                    return
                work = self._waiting.popleft()
            work()


def event_json(event: BuildEvent) -> dict[str, object]:
    return {"kind": event.kind, "done": event.done, "cached": event.cached,
            "total": event.total, "detail": event.detail}


def outcome_lines(run: BuildRun, feed: Path) -> list[str]:
    """The lines ``duopod build`` prints after building one script (``cli.progress``)."""
    lines = [f"built {built_text(o)}" for o in run.outcomes if o.ok]
    lines += [f"duopod: warning: {p}" for p in dict.fromkeys(
        p for o in run.outcomes for p in o.problems)]
    lines += [f"duopod: error: {o.error}" for o in run.outcomes if not o.ok]
    lines.append(f"feed: {feed}")
    if len(run.outcomes) == 1 and run.outcomes[0].ok:
        lines.append(state_line(run.outcomes[0]))
    return lines


def outcome_json(run: BuildRun, feed: Path) -> dict[str, object]:
    return {"kind": "outcome", "exit_code": run.exit_code,
            "messages": outcome_lines(run, feed),
            "outcomes": [o.to_json() for o in run.outcomes]}


async def _after(job: BuildJob, sent: int) -> list[dict[str, object]]:
    """The job's events after the first ``sent``, once there is one."""
    async with job.changed:
        await job.changed.wait_for(lambda: len(job.events) > sent)
        return job.events[sent:]


async def stream(request: web.Request, job: BuildJob) -> web.StreamResponse:
    """The job's events as ``text/event-stream``, from the first, until the outcome."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    sent = 0
    while True:
        fresh = await _after(job, sent)
        for event in fresh:
            await response.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
        sent += len(fresh)
        if fresh and fresh[-1]["kind"] == "outcome":
            break
    await response.write_eof()
    return response
