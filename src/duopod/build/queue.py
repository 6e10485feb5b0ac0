"""Builds on a distributed queue: Dramatiq on Redis (why Dramatiq: see the README's
"Scaling out").

Two kinds of job, on two queues of one Redis:

- ``build`` (any number of ``duopod worker`` processes, on any machine that has the show's
  folder): render, mix and encode one script into ``.duopod/bundles/<job-id>/`` (the MP3
  and ``bundle.json``), then send a ``publish`` job for it.
- ``publish``: land a bundle in ``episodes/``. ``publish_episode`` holds the site lock, so
  publishes run one at a time whichever workers take them; a show on storage whose locks do
  not reach across machines runs one worker with ``--queues publish``.

Delivery is Dramatiq's: a message stays in its worker's acknowledgement set until the job
returns; a worker that stops heart-beating (killed, machine gone) has its messages put
back on the queue by the next live worker after ``heartbeat`` seconds. A job therefore may
run twice; both jobs are written so that running again is harmless: the bundle folder is
named by the message id (stable across redeliveries and retries) and emptied before a
build, and a bundle is published from a link to its MP3, with a marker written after, so a
publish that runs again lands the same episode in the same place (same slug, same GUID).

Every show has a namespace of its own in Redis (``duopod-<show key>``, the key made from
the show's podcast GUID and title, which every copy of the show shares): a worker takes
only its show's jobs, so two shows on one Redis never build each other's scripts. A job
also carries its show's key and the SHA-256 of the script as submitted; a worker whose
copy of the file differs refuses the job rather than build another text under the same
name.

Messages are JSON (Dramatiq's default encoder): no pickle crosses the network. Job
progress is kept in one Redis hash per show (``<namespace>:jobs``) for ``duopod queue
status``; a landed job's record holds its whole outcome, which is what ``QueueExecutor``
(``duopod build --queue``) reads back to report as the other executors do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import dramatiq
from dramatiq.middleware import Middleware

from ..disk.locks import file_lock, process_alive
from ..errors import DuopodError, InputError
from ..script.model import Script
from ..show.workspace import Workspace, load_workspace
from ..site.render import show_guid
from ..store.episodes import script_id
from ..urls import redact_url
from .bundle import read_bundle
from .options import BuildOptions
from .outcome import BuildEvent, BuildOutcome, OnEvent
from .preflight import load_for_build, load_script
from .run import Produced, land_one
from .steps import discard, produce, sweep_work

if TYPE_CHECKING:
    import redis

NAMESPACE_PREFIX = "duopod-"
BUILD_QUEUE = "build"
PUBLISH_QUEUE = "publish"
DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_HEARTBEAT = 15.0
"""Seconds without a heartbeat before a worker's jobs go back on the queue."""
BUILD_RETRIES = 3
"""Further attempts at a build that raised (an engine outage); bad input is not retried."""
TIME_LIMIT_MS = 4 * 3600 * 1000

QUEUED, RUNNING, BUNDLED, PUBLISHING, DONE, FAILED, RETRYING = (
    "queued", "running", "bundled", "publishing", "done", "failed", "retrying")
SUMMARY = {"queued": (QUEUED, RETRYING), "running": (RUNNING, BUNDLED, PUBLISHING),
           "failed": (FAILED,), "done": (DONE,)}


def queue_url(url: str | None) -> str:
    """``--queue``, else ``$DUOPOD_QUEUE``, else a Redis on this machine; checked, so a
    mistyped address is one line and not a traceback from deep in the client."""
    chosen = url or os.environ.get("DUOPOD_QUEUE") or DEFAULT_URL
    check_queue_url(chosen)
    return chosen


def check_queue_url(url: str) -> None:
    where = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise DuopodError(f"queue address {where}: {str(exc).replace('Port', 'port')}") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise DuopodError(f"queue address {where}: expected redis://host:port/db "
                          "(or rediss:// or unix://)")
    if parts.scheme != "unix" and not parts.hostname:
        raise DuopodError(f"queue address {where}: no host")
    if port == 0:
        raise DuopodError(f"queue address {where}: port 0")
    if parts.scheme != "unix" and parts.path not in ("", "/") and \
            not re.fullmatch(r"/\d+", parts.path):
        raise DuopodError(f"queue address {where}: the database is a number (/0)")


def show_key(workspace: Workspace) -> str:
    """What names a show on the queue: the same for every copy of its folder (podcast GUID
    and title come from show.toml or the feed), different for two shows."""
    seed = f"{show_guid(workspace)}\0{workspace.show.title}".encode()
    return hashlib.sha256(seed).hexdigest()[:16]


def namespace_for(workspace: Workspace) -> str:
    return f"{NAMESPACE_PREFIX}{show_key(workspace)}"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the broker and its two actors -----------------------------------------------------


@dataclass
class Queue:
    """A connected broker with duopod's actors declared on it."""

    broker: Any
    build: Any
    publish: Any
    namespace: str

    @property
    def client(self) -> redis.Redis:
        client: redis.Redis = self.broker.client
        return client

    @property
    def jobs_key(self) -> str:
        return f"{self.namespace}:jobs"


def connect(workspace: Workspace, url: str | None = None,
            heartbeat: float = DEFAULT_HEARTBEAT) -> Queue:
    """The Redis broker with duopod's settings: JSON messages, heartbeats every dispatch,
    maintenance (requeueing dead workers' messages) on every dispatch too: it is one
    sorted-set range query, and it is what makes the redelivery bound ``heartbeat`` plus
    about a second rather than minutes."""
    from dramatiq.brokers import redis as redis_brokers
    from dramatiq.brokers.redis import MAINTENANCE_SCALE
    from dramatiq.middleware import CurrentMessage, Retries

    namespace = namespace_for(workspace)
    broker_class: Any = redis_brokers.RedisBroker  # Dramatiq is untyped
    broker = broker_class(url=queue_url(url), namespace=namespace,
                         heartbeat_timeout=int(heartbeat * 1000),
                         maintenance_chance=MAINTENANCE_SCALE)
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(_StatusMiddleware(), before=Retries)  # runs after Retries decides
    dramatiq.set_broker(broker)
    retry: dict[str, Any] = {"max_retries": BUILD_RETRIES, "min_backoff": 1000,
                             "max_backoff": 60_000, "throws": (InputError,),
                             "time_limit": TIME_LIMIT_MS}
    build = dramatiq.actor(broker=broker, actor_name="duopod_build", queue_name=BUILD_QUEUE,
                           **retry)(_build_job)
    publish = dramatiq.actor(broker=broker, actor_name="duopod_publish",
                             queue_name=PUBLISH_QUEUE, **retry)(_publish_job)
    return Queue(broker, build, publish, namespace)


def _current_queue() -> Queue:
    broker = dramatiq.get_broker()
    namespace = str(getattr(broker, "namespace", ""))
    return Queue(broker, broker.get_actor("duopod_build"), broker.get_actor("duopod_publish"),
                 namespace)


def _message_id() -> str:
    from dramatiq.middleware import CurrentMessage

    message = CurrentMessage.get_current_message()
    if message is None:
        raise DuopodError("a duopod job ran outside a Dramatiq worker")
    return str(message.message_id)


# --- job records for `duopod queue status` ---------------------------------------------


def get_state(queue: Queue, job: str) -> dict[str, Any]:
    raw = queue.client.hget(queue.jobs_key, job)
    return json.loads(raw) if raw else {}


def set_state(queue: Queue, job: str, state: str, **fields: Any) -> None:
    """Merge ``fields`` into the job's record and stamp it; a job that is running again or
    done no longer shows the error of an earlier attempt."""
    record = get_state(queue, job)
    if state != FAILED and state != RETRYING:
        record.pop("error", None)
        record.pop("bad_input", None)
    record.update(fields, state=state, updated=time.time())
    queue.client.hset(queue.jobs_key, job, json.dumps(record, ensure_ascii=False))


def jobs(client: redis.Redis, namespace: str | None = None) -> dict[str, dict[str, Any]]:
    """Every job's record, by id: of one show's namespace, or of every show's."""
    keys = [f"{namespace}:jobs"] if namespace else [
        _text(k) for k in client.scan_iter(match=f"{NAMESPACE_PREFIX}*:jobs")]
    found: dict[str, dict[str, Any]] = {}
    for key in keys:
        raw: dict[bytes, bytes] = client.hgetall(key)  # type: ignore[assignment]
        found.update({_text(k): json.loads(v) for k, v in raw.items()})
    return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def heartbeats(queue: Queue) -> dict[str, float]:
    """When each live broker (worker) last called Redis, in ms: Dramatiq's own record."""
    pairs: list[tuple[bytes, float]] = queue.client.zrange(  # type: ignore[assignment]
        f"{queue.namespace}:__heartbeats__", 0, -1, withscores=True)
    return {_text(member): float(score) for member, score in pairs}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _StatusMiddleware(Middleware):
    """Records a job that raised as retrying or, when Dramatiq gives up on it (or it was bad
    input), failed with the reason."""

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None,
                              exception: BaseException | None = None) -> None:
        if exception is None:
            return
        job = message.kwargs.get("job") or message.message_id
        state = FAILED if message.failed else RETRYING
        queue = Queue(broker, None, None, broker.namespace)
        set_state(queue, job, state, error=str(exception),
                  bad_input=isinstance(exception, InputError),
                  attempts=message.options.get("retries", 0) + 1)


# --- submitting ------------------------------------------------------------------------


def options_to_json(options: BuildOptions) -> dict[str, Any]:
    return options.to_json()


def options_from_json(data: dict[str, Any]) -> BuildOptions:
    return BuildOptions.from_json(data)


def submit(workspace: Workspace, scripts: dict[Path, Script], options: BuildOptions,
           queue: Queue) -> dict[Path, str]:
    """Send one build job per (already checked) script; the job id of each. Scripts travel
    as paths relative to the show's folder, with the SHA-256 of the text as submitted."""
    ids: dict[Path, str] = {}
    key = show_key(workspace)
    for path, script in scripts.items():
        name = script_id(workspace, script.path)
        message = queue.build.message_with_options(kwargs={
            "script": name, "options": options_to_json(options), "show": key,
            "sha256": file_digest(script.path)})
        set_state(queue, message.message_id, QUEUED, script=name, submitted=time.time())
        queue.broker.enqueue(message)
        ids[path] = message.message_id
    return ids


def enqueue(workspace: Workspace, paths: list[Path], options: BuildOptions,
            queue: Queue) -> list[str]:
    """Check each script here (bad input is refused before anything is queued), then send
    one build job per script; the job ids, in order."""
    scripts = {path: load_script(workspace, path, options) for path in paths}
    return list(submit(workspace, scripts, options, queue).values())


# --- the jobs --------------------------------------------------------------------------

_workspace_root: Path | None = None


def set_workspace(root: Path) -> None:
    """The show this worker process builds (its own copy or the shared folder)."""
    global _workspace_root
    _workspace_root = root


def _workspace() -> Workspace:
    return load_workspace(_workspace_root)


def bundles_dir(workspace: Workspace) -> Path:
    return workspace.bundles_dir


def _job_script(workspace: Workspace, script: str, show: str | None, sha256: str | None
                ) -> Path:
    """This worker's copy of the job's script, after checking it is the same show's and
    the same text: a different file under the same name is refused, never built."""
    if show is not None and show != show_key(workspace):
        raise InputError(f"job for another show (key {show}) reached the worker of "
                         f"{workspace.root} (key {show_key(workspace)})")
    path = workspace.root / script
    if sha256 is not None:
        try:
            here = file_digest(path)
        except OSError as exc:
            raise InputError(f"{script}: not readable on this worker ({exc.strerror})",
                             path) from None
        if here != sha256:
            raise InputError(f"{script}: this worker's copy differs from the script that was "
                             "submitted (another text under the same name): not built",
                             path)
    return path


def _build_job(script: str, options: dict[str, Any], job: str | None = None,
               show: str | None = None, sha256: str | None = None) -> None:
    """Render, mix and encode into the job's bundle folder, then ask for it to be published.
    Run again after a worker died, it starts the folder afresh; run again after the bundle
    was complete, it only asks for the publish again."""
    job = job or _message_id()
    queue = _current_queue()
    workspace = _workspace()
    folder = bundles_dir(workspace) / job
    runs = int(get_state(queue, job).get("runs", 0)) + 1  # > 1: redelivered or retried
    set_state(queue, job, RUNNING, worker=worker_name(), broker=queue.broker.broker_id,
              started=time.time(), runs=runs)
    build_options = options_from_json(options)
    if read_bundle(folder) is None:
        discard(folder)
        path = _job_script(workspace, script, show, sha256)
        parsed = load_for_build(workspace, path, build_options)
        produce(workspace, parsed, build_options, folder)
    set_state(queue, job, BUNDLED, bundled=time.time())
    queue.broker.enqueue(queue.publish.message_with_options(
        kwargs={"job": job, "options": options}))
    set_state(queue, job, PUBLISHING)


PUBLISHED_MARK = "published.json"


def _publish_job(job: str, options: dict[str, Any]) -> None:
    """Land one bundle, once: its folder's lock keeps two deliveries of this job apart, the
    marker written after publishing makes a later one a no-op. The job's record gets the
    whole outcome, problems included, as the other executors report it."""
    queue = _current_queue()
    workspace = _workspace()
    folder = bundles_dir(workspace) / job
    with file_lock(folder / ".publish.lock", wait=True, busy_message=""):
        mark = folder / PUBLISHED_MARK
        if mark.is_file():
            set_state(queue, job, DONE, **json.loads(mark.read_text("utf-8")))
            return
        bundle = read_bundle(folder)
        if bundle is None:
            raise DuopodError(f"bundle {folder} is missing or incomplete")
        record = get_state(queue, job)
        started = float(record.get("started", time.time()))
        bundled = float(record.get("bundled", time.time()))
        with _linked(bundle.audio) as audio:
            produced = Produced(bundle.script, replace(bundle, audio=audio), None, None,
                                started, bundled)
            ended = land_one(workspace, produced, options_from_json(options),
                             lambda _event: None)
        if not ended.ok:
            error = InputError if ended.bad_input else DuopodError
            raise error(ended.error or "publishing failed")
        landed = {"slug": ended.slug, "published": time.time(), "publisher": worker_name(),
                  "outcome": ended.to_json()}
        mark.write_text(json.dumps(landed, ensure_ascii=False), encoding="utf-8")
        bundle.audio.unlink(missing_ok=True)  # the published copy is the one that counts
    build_options = options_from_json(options)
    if build_options.deploy is not None:
        # after the marker: a deploy that fails (another deployer holds the target) is
        # retried by Dramatiq without landing the episode twice
        from .after import deploy_site

        report = deploy_site(workspace, build_options.deploy)
        landed["deployed"] = {"target": report.target, "uploaded": len(report.uploaded)}
    set_state(queue, job, DONE, **landed)


@contextlib.contextmanager
def _linked(audio: Path) -> Iterator[Path]:
    """A second name for the bundle's MP3 for publishing to move away, so the bundle stays
    whole until the publish is known to have landed."""
    link = audio.with_name(f".publishing-{os.getpid()}-{audio.name}")
    link.unlink(missing_ok=True)
    try:
        os.link(audio, link)
    except OSError:
        shutil.copyfile(audio, link)
    try:
        yield link
    finally:
        link.unlink(missing_ok=True)


# --- housekeeping ----------------------------------------------------------------------

KEEP_PUBLISHED_BUNDLES = 24 * 3600.0
"""A landed bundle's folder (its marker, no MP3) is kept this long for ``queue status``
and redeliveries, then removed by the next worker to start."""

_PUBLISHING_LINK = re.compile(r"\.publishing-(\d+)-.+")


def sweep_bundles(workspace: Workspace, now: float | None = None) -> list[Path]:
    """Remove what killed jobs left: publishing links of processes that are gone, and
    bundle folders published more than a day ago. Returns what was removed."""
    root = bundles_dir(workspace)
    if not root.is_dir():
        return []
    moment = time.time() if now is None else now
    removed: list[Path] = []
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            match = _PUBLISHING_LINK.fullmatch(child.name)
            if match and not process_alive(int(match.group(1))):
                child.unlink(missing_ok=True)
                removed.append(child)
        mark = folder / PUBLISHED_MARK
        with contextlib.suppress(FileNotFoundError):
            if mark.is_file() and moment - mark.stat().st_mtime > KEEP_PUBLISHED_BUNDLES:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


# --- the worker ------------------------------------------------------------------------


def run_worker(root: Path, url: str | None = None, queues: tuple[str, ...] = (
        BUILD_QUEUE, PUBLISH_QUEUE), heartbeat: float = DEFAULT_HEARTBEAT,
        stop: Any = None) -> None:
    """Take this show's jobs until ``stop`` (a ``threading.Event``) is set or the process
    is signalled: one job at a time, and one message held at a time, so idle workers
    elsewhere get the rest of the queue."""

    set_workspace(root)
    workspace = _workspace()
    sweep_work(workspace)
    sweep_bundles(workspace)
    queue = connect(workspace, url, heartbeat)
    worker = dramatiq.Worker(queue.broker, queues=set(queues), worker_threads=1,
                             worker_timeout=500)
    worker.queue_prefetch = 1
    worker.start()
    try:
        while stop is None or not stop.is_set():
            time.sleep(0.2)
    finally:
        worker.stop()
        queue.broker.close()


# --- status ----------------------------------------------------------------------------


def status(queue: Queue) -> tuple[dict[str, int], list[tuple[str, dict[str, Any]]]]:
    """Counts of queued / running / failed / done jobs, and every job newest first, with a
    running job's worker marked silent when its heartbeat is older than the timeout (its
    job is about to be requeued)."""
    records = jobs(queue.client, queue.namespace)
    beats = heartbeats(queue)
    now_ms = time.time() * 1000
    for record in records.values():
        beat = beats.get(record.get("broker", ""))
        if record.get("state") in SUMMARY["running"] and beat is not None:
            record["silent"] = round((now_ms - beat) / 1000, 1)
    counts = {name: sum(r.get("state") in states for r in records.values())
              for name, states in SUMMARY.items()}
    ordered = sorted(records.items(), key=lambda item: item[1].get("submitted", 0),
                     reverse=True)
    return counts, ordered


# --- the executor ----------------------------------------------------------------------


class QueueExecutor:
    """Build on the queue and wait: every script becomes a build job that any of the show's
    workers takes; the outcomes are read back from the jobs' records, so ``duopod build
    --queue`` reports, exits and summarises as a build here does."""

    name = "queue"

    def __init__(self, url: str | None = None, poll: float = 0.25,
                 heartbeat: float = DEFAULT_HEARTBEAT) -> None:
        self.url = url
        self.poll = poll
        self.heartbeat = heartbeat
        self.jobs = 0

    def run(self, workspace: Workspace, scripts: dict[Path, Script], options: BuildOptions,
            emit: OnEvent) -> dict[Path, BuildOutcome]:
        queue = connect(workspace, self.url, self.heartbeat)
        try:
            ids = submit(workspace, scripts, options, queue)
            return self._wait(queue, scripts, ids, emit)
        finally:
            queue.broker.close()

    def _wait(self, queue: Queue, scripts: dict[Path, Script], ids: dict[Path, str],
              emit: OnEvent) -> dict[Path, BuildOutcome]:
        outcomes: dict[Path, BuildOutcome] = {}
        seen: dict[Path, str] = {}
        while len(outcomes) < len(ids):
            for path, job in ids.items():
                if path in outcomes:
                    continue
                record = get_state(queue, job)
                state = str(record.get("state", QUEUED))
                total = len(scripts[path].turns)
                if seen.get(path) != state:
                    seen[path] = state
                    kind = _EVENT_OF_STATE.get(state)
                    if kind is not None:
                        emit(BuildEvent(path, kind, total=total,
                                        detail=str(record.get("error", ""))))
                if state == DONE and "outcome" in record:
                    ended = BuildOutcome.from_json(record["outcome"])
                    outcomes[path] = replace(ended, script=path)
                elif state == FAILED:
                    outcomes[path] = BuildOutcome(
                        path, False, error=str(record.get("error", "failed")),
                        bad_input=bool(record.get("bad_input")),
                        started=float(record.get("started", 0.0)),
                        finished=float(record.get("updated", 0.0)))
            if len(outcomes) < len(ids):
                time.sleep(self.poll)
        return outcomes


_EVENT_OF_STATE: dict[str, Any] = {
    QUEUED: "waiting", RUNNING: "rendering", BUNDLED: "encoding", PUBLISHING: "publishing",
    RETRYING: "turn", DONE: "published", FAILED: "failed",
}
