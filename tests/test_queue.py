"""Builds on the distributed queue (Dramatiq on a real Redis): two worker processes share
three scripts and every episode lands once; a worker SIGKILLed mid-render has its job
redone by the other within the heartbeat bound, and the episode lands once, whole."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import copy_show, run_cli
from test_parallel import episode_folders, published_guids, short_script

from duopod.build.jobs import JobRecord

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs Debian's redis-server (apt-get install "
                                "redis-server; .ci/run installs it)")

HEARTBEAT = 3.0
"""The workers' heartbeat timeout in these tests: the redelivery bound is this plus the
time the surviving worker takes to notice (it looks on every Redis call, about twice a
second when idle)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], object], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def start_worker(show: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "duopod", "worker", "--queue", url,
         "--heartbeat", str(HEARTBEAT)],
        cwd=show, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def job_records(url: str) -> dict[str, JobRecord]:
    import redis

    from duopod.build.queue import jobs

    return jobs(redis.Redis.from_url(url))


def all_done(url: str, count: int) -> bool:
    records = job_records(url)
    failed = [r for r in records.values() if r.state == "failed"]
    assert not failed, [(r.script, r.error) for r in failed]
    return len(records) == count and all(r.state == "done" for r in records.values())


@pytest.fixture
def show(tmp_path: Path) -> Path:
    show = copy_show(tmp_path / "show")
    for old in (show / "scripts").glob("*.md"):
        old.unlink()
    return show


@pytest.mark.slow
def test_two_workers_share_three_scripts(show: Path, redis_url: str, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        short_script(show, name, f"Queued {name}", turns=4)
    result = run_cli(show, "enqueue", "scripts/a.md", "scripts/b.md", "scripts/c.md",
                     "--engine", "espeak", "--queue", redis_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("queued scripts/") == 3
    workers = [start_worker(show, redis_url, tmp_path / f"w{i}.log") for i in range(2)]
    try:
        wait_for(lambda: all_done(redis_url, 3), 300, "the three jobs did not finish")
    finally:
        for worker in workers:
            stop(worker)
    records = job_records(redis_url)
    builders = {r.worker for r in records.values()}
    assert len(builders) == 2, f"one worker took every job: {records}"
    assert all(r.runs == 1 for r in records.values()), "a busy worker lost its job"
    assert episode_folders(show) == ["2025-12-20-queued-a", "2025-12-20-queued-b",
                                     "2025-12-20-queued-c"]
    guids = published_guids(show)
    assert len(guids) == len(set(guids)) == 3
    status = run_cli(show, "queue", "status", "--queue", redis_url)
    assert status.returncode == 0, status.stderr
    assert "queued 0  running 0  failed 0  done 3" in status.stdout


@pytest.mark.slow
def test_killed_worker_job_is_redone_once(show: Path, redis_url: str, tmp_path: Path) -> None:
    short_script(show, "long", "Killed mid render", turns=24)
    result = run_cli(show, "enqueue", "scripts/long.md", "--engine", "espeak",
                     "--queue", redis_url)
    assert result.returncode == 0, result.stderr
    workers = {w.pid: w for w in (start_worker(show, redis_url, tmp_path / f"w{i}.log")
                                  for i in range(2))}
    try:
        wait_for(lambda: _state(redis_url) == "running", 120, "the job never started")
        time.sleep(1.0)  # well into the render (24 turns take several seconds)
        assert _state(redis_url) == "running", "the render ended before the kill"
        victim = _record(redis_url).worker
        assert victim is not None
        pid = int(victim.rsplit(":", 1)[1])
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        workers.pop(pid).wait()
        wait_for(lambda: _record(redis_url).worker not in (None, victim), 60,
                 "the killed worker's job was not given to the other")
        redelivered = time.monotonic() - killed_at
        wait_for(lambda: _state(redis_url) == "done", 300, "the redone job did not land")
    finally:
        for worker in workers.values():
            stop(worker)
    # the bound: the heartbeat timeout plus the survivor's next look at Redis
    print(f"redelivered {redelivered:.1f} s after SIGKILL (heartbeat {HEARTBEAT:g} s)")
    assert redelivered < HEARTBEAT + 3, redelivered
    assert _record(redis_url).runs == 2
    assert episode_folders(show) == ["2025-12-20-killed-mid-render"]
    assert len(published_guids(show)) == 1
    folder = show / "episodes" / "2025-12-20-killed-mid-render"
    record = json.loads((folder / "episode.json").read_text("utf-8"))
    assert (folder / record["audio"]["file"]).stat().st_size == record["audio"]["bytes"]
    assert len(record["timeline"]["turns"]) == 24


def _record(url: str) -> JobRecord:
    records = job_records(url)
    assert len(records) == 1, records
    return next(iter(records.values()))


def _state(url: str) -> str | None:
    return _record(url).state
