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

Messages are JSON (Dramatiq's default encoder): no pickle crosses the network. Job
progress is kept in one Redis hash (``duopod:jobs``) for ``duopod queue status``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dramatiq
from dramatiq.middleware import Middleware

from .bundle import discard, make_bundle, publish_bundle, read_bundle
from ..errors import DuopodError, InputError
from .pipeline import BuildOptions, load_script
from ..publish.episodes import script_id
from ..publish.swap import file_lock
from ..script.parse import Overrides
from ..show.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    import redis

NAMESPACE = "duopod"
BUILD_QUEUE = "build"
PUBLISH_QUEUE = "publish"
JOBS_KEY = f"{NAMESPACE}:jobs"
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
    """``--queue``, else ``$DUOPOD_QUEUE``, else a Redis on this machine."""
    return url or os.environ.get("DUOPOD_QUEUE") or DEFAULT_URL


# --- the broker and its two actors -----------------------------------------------------


@dataclass
class Queue:
    """A connected broker with duopod's actors declared on it."""

    broker: Any
    build: Any
    publish: Any

    @property
    def client(self) -> redis.Redis:
        return self.broker.client


def connect(url: str | None = None, heartbeat: float = DEFAULT_HEARTBEAT) -> Queue:
    """The Redis broker with duopod's settings: JSON messages, heartbeats every dispatch,
    maintenance (requeueing dead workers' messages) on every dispatch too: it is one
    sorted-set range query, and it is what makes the redelivery bound ``heartbeat`` plus
    about a second rather than minutes."""
    from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
    from dramatiq.middleware import CurrentMessage, Retries

    broker = RedisBroker(url=queue_url(url), namespace=NAMESPACE,
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
    return Queue(broker, build, publish)


def _current_queue() -> Queue:
    broker = dramatiq.get_broker()
    return Queue(broker, broker.get_actor("duopod_build"), broker.get_actor("duopod_publish"))


def _message_id() -> str:
    from dramatiq.middleware import CurrentMessage

    message = CurrentMessage.get_current_message()
    if message is None:
        raise DuopodError("a duopod job ran outside a Dramatiq worker")
    return str(message.message_id)


# --- job records for `duopod queue status` ---------------------------------------------


def get_state(client: redis.Redis, job: str) -> dict[str, Any]:
    raw = client.hget(JOBS_KEY, job)
    return json.loads(raw) if raw else {}


def set_state(client: redis.Redis, job: str, state: str, **fields: Any) -> None:
    """Merge ``fields`` into the job's record and stamp it."""
    record = get_state(client, job)
    record.update(fields, state=state, updated=time.time())
    client.hset(JOBS_KEY, job, json.dumps(record, ensure_ascii=False))


def jobs(client: redis.Redis) -> dict[str, dict[str, Any]]:
    """Every job's record, by id."""
    raw = client.hgetall(JOBS_KEY)
    return {_text(k): json.loads(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def heartbeats(client: redis.Redis) -> dict[str, float]:
    """When each live broker (worker) last called Redis, in ms: Dramatiq's own record."""
    pairs: list[tuple[bytes, float]] = client.zrange(  # type: ignore[assignment]
        f"{NAMESPACE}:__heartbeats__", 0, -1, withscores=True)
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
        set_state(broker.client, job, state, error=str(exception),
                  bad_input=isinstance(exception, InputError),
                  attempts=message.options.get("retries", 0) + 1)


# --- submitting ------------------------------------------------------------------------


def options_to_json(options: BuildOptions) -> dict[str, Any]:
    return {**asdict(options), "overrides": asdict(options.overrides)}


def options_from_json(data: dict[str, Any]) -> BuildOptions:
    return BuildOptions(**{**data, "overrides": Overrides(**data.get("overrides", {}))})


def enqueue(workspace: Workspace, paths: list[Path], options: BuildOptions,
            queue: Queue) -> list[str]:
    """Check each script here (bad input is refused before anything is queued), then send
    one build job per script; the job ids, in order. Scripts travel as paths relative to the
    show's folder, so a worker with the show elsewhere finds them."""
    for path in paths:
        load_script(workspace, path, options)
    ids = []
    for path in paths:
        script = script_id(workspace, path)
        message = queue.build.message_with_options(
            kwargs={"script": script, "options": options_to_json(options)})
        set_state(queue.client, message.message_id, QUEUED, script=script,
                  submitted=time.time())
        queue.broker.enqueue(message)
        ids.append(message.message_id)
    return ids


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


def _build_job(script: str, options: dict[str, Any], job: str | None = None) -> None:
    """Render, mix and encode into the job's bundle folder, then ask for it to be published.
    Run again after a worker died, it starts the folder afresh; run again after the bundle
    was complete, it only asks for the publish again."""
    job = job or _message_id()
    queue = _current_queue()
    workspace = _workspace()
    folder = bundles_dir(workspace) / job
    runs = int(get_state(queue.client, job).get("runs", 0)) + 1  # > 1: redelivered or retried
    set_state(queue.client, job, RUNNING, worker=worker_name(), broker=queue.broker.broker_id,
              started=time.time(), runs=runs)
    build_options = options_from_json(options)
    if read_bundle(folder) is None:
        discard(folder)
        make_bundle(workspace, workspace.root / script, build_options, folder)
    set_state(queue.client, job, BUNDLED, bundled=time.time())
    queue.broker.enqueue(queue.publish.message_with_options(
        kwargs={"job": job, "options": options}))
    set_state(queue.client, job, PUBLISHING)


PUBLISHED_MARK = "published.json"


def _publish_job(job: str, options: dict[str, Any]) -> None:
    """Land one bundle, once: its folder's lock keeps two deliveries of this job apart, the
    marker written after publishing makes a later one a no-op."""
    queue = _current_queue()
    workspace = _workspace()
    folder = bundles_dir(workspace) / job
    with file_lock(folder / ".publish.lock", wait=True, busy_message=""):
        mark = folder / PUBLISHED_MARK
        if mark.is_file():
            set_state(queue.client, job, DONE, **json.loads(mark.read_text("utf-8")))
            return
        bundle = read_bundle(folder)
        if bundle is None:
            raise DuopodError(f"bundle {folder} is missing or incomplete")
        with _linked(bundle.audio) as audio:
            record = publish_bundle(workspace, replace(bundle, audio=audio),
                                    options_from_json(options))
        landed = {"slug": record.slug, "guid": record.guid, "published": time.time(),
                  "publisher": worker_name()}
        mark.write_text(json.dumps(landed), encoding="utf-8")
        bundle.audio.unlink(missing_ok=True)  # the published copy is the one that counts
    set_state(queue.client, job, DONE, **landed)


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


# --- the worker ------------------------------------------------------------------------


def run_worker(root: Path, url: str | None = None, queues: tuple[str, ...] = (
        BUILD_QUEUE, PUBLISH_QUEUE), heartbeat: float = DEFAULT_HEARTBEAT,
        stop: Any = None) -> None:
    """Take jobs until ``stop`` (a ``threading.Event``) is set or the process is signalled:
    one job at a time, and one message held at a time, so idle workers elsewhere get the
    rest of the queue."""

    set_workspace(root)
    queue = connect(url, heartbeat)
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
    records = jobs(queue.client)
    beats = heartbeats(queue.client)
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
