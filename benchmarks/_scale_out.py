"""Scaling out (issue 14): eight scripts of the Mandarin example's size, rendered cold with
the offline engine, built with ``--jobs 2`` against ``--jobs 1``, and by two queue workers
against one (a throwaway redis-server on a free loopback port). Each run starts from a
fresh copy of the show and renders every turn (``--no-cache``), so the runs do equal work.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duopod.build.jobs import JobRecord

SCRIPTS = 8
JOBS_ROUNDS = 3


def _spin(count: int = 20_000_000) -> None:
    total = 0
    for i in range(count):
        total += i


def parallel_ceiling() -> float:
    """How much faster two CPU-bound processes finish their work than one does theirs, here
    and now: 2x on an idle two-core machine, near 1x when other work holds the cores. No
    build can scale past it, so it is printed beside the build ratios."""
    def run(count: int) -> float:
        started = time.perf_counter()
        procs = [multiprocessing.Process(target=_spin) for _ in range(count)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        return time.perf_counter() - started

    one, two = run(1), run(2)
    return 2 * one / two


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def adopt_orphans() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux): ``--jobs``
    workers are children of a fork server that outlives the build command by a moment, and
    only a process that waits for them has their CPU time counted."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    pr_set_child_subreaper = 36
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0)


def reap_orphans(deadline: float = 20.0) -> None:
    """Wait for every adopted process that is left (the fork server, once its parent has
    gone), so its CPU time and its children's reach RUSAGE_CHILDREN."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def eight_scripts(show: Path, example: str, count: int = SCRIPTS) -> list[str]:
    """The example ``count`` times over, each its own episode (title, date, slug)."""
    text = (show / "scripts" / example).read_text(encoding="utf-8")
    (show / "scripts" / example).unlink()
    names = []
    for i in range(count):
        copy = text.replace("2025-12-10", f"2025-11-{10 + i:02d}", 1)
        copy = copy.replace("title: ", f"title: 第{i + 1}期 ", 1)
        name = f"scripts/copy-{i + 1}.md"
        (show / name).write_text(copy, encoding="utf-8")
        names.append(name)
    return names


def fresh(work: Path, label: str, copy_show: Callable[[Path], Path], example: str,
          count: int = SCRIPTS) -> tuple[Path, list[str]]:
    show = copy_show(work / label)
    return show, eight_scripts(show, example, count)


def timed_build(show: Path, scripts: list[str], jobs: int) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "duopod", "build", *scripts, "--engine", "espeak", "--no-cache",
         "--jobs", str(jobs)], cwd=show, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(f"build --jobs {jobs} failed: {result.stdout}{result.stderr}")
    return elapsed


def timed_queue(show: Path, scripts: list[str], workers: int) -> float:
    """Enqueue the eight scripts, start ``workers`` worker processes, and time until every
    job is done (worker start-up included, as a real run pays it)."""
    import redis
    from test_queue import free_port, wait_for

    from duopod.build.queue import jobs

    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(show)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        client = redis.Redis.from_url(url)
        wait_for(lambda: _ping(client), 10, "redis-server did not start")
        subprocess.run([sys.executable, "-m", "duopod", "enqueue", *scripts, "--engine",
                        "espeak", "--no-cache", "--queue", url], cwd=show, check=True,
                       capture_output=True)
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "duopod", "worker", "--queue", url],
                                  cwd=show, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for _ in range(workers)]
        wait_for(lambda: _finished(jobs(client)), 3600, "the queued builds did not finish")
        return time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=60)
        server.terminate()
        server.wait(timeout=10)


def _ping(client: object) -> bool:
    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except Exception:
        return False


def _finished(records: dict[str, JobRecord]) -> bool:
    failed = [r for r in records.values() if r.state == "failed"]
    if failed:
        raise RuntimeError(f"queued builds failed: {failed}")
    return len(records) == SCRIPTS and all(r.state == "done" for r in records.values())


JOBS_SCRIPTS = 4


def bench_jobs(work: Path, copy_show: Callable[[Path], Path], example: str,
               row: Callable[[str, str, str, bool], None]) -> None:
    """Four cold offline builds, ``--jobs 1`` and ``--jobs 2`` alternating (A B A B), wall
    and CPU-seconds (the build's processes, ffmpeg's included). The ceiling of ``--jobs 2``
    is what the cores left over by one build allow: min(2, 2 / (CPU-s / wall of --jobs
    1)); an idle second core is needed for a second build to gain."""
    if not adopt_orphans():
        print("  (not Linux: the CPU time of --jobs 2's workers is not counted)")
    ceiling_now = parallel_ceiling()
    print(f"  parallel ceiling now (two CPU-bound processes vs one): {ceiling_now:.2f}x",
          flush=True)
    runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for round_ in range(JOBS_ROUNDS):
        for jobs in (1, 2):
            cpu = children_cpu()
            wall = timed_build(*fresh(work, f"jobs{jobs}-{round_}", copy_show, example,
                                      JOBS_SCRIPTS), jobs=jobs)
            reap_orphans()
            runs[jobs].append((wall, children_cpu() - cpu))
    ceiling_after = parallel_ceiling()
    one, one_cpu = min(runs[1])
    two, two_cpu = min(runs[2])
    cores = one_cpu / one
    ceiling = min(2.0, 2 / cores)
    speedup = one / two
    row(f"{JOBS_SCRIPTS} scripts, offline: cores one build keeps busy (--jobs 1, CPU-s / wall)",
        f"{cores:.2f} ({one_cpu:.0f} CPU-s in {one:.1f} s; build/pool.py BUILD_CORES is the "
        "measured figure)", "-", True)
    reached = speedup / ceiling
    machine = min(ceiling_now, ceiling_after)
    row(f"{JOBS_SCRIPTS} scripts, offline: build --jobs 2 vs --jobs 1 (best of {JOBS_ROUNDS} "
        "each, A B A B)",
        f"{speedup:.2f}x, {reached:.0%} of its ceiling {ceiling:.2f}x ({one:.1f} s vs "
        f"{two:.1f} s wall; CPU {one_cpu:.0f} vs {two_cpu:.0f} s; runs "
        f"{', '.join(f'{w:.1f}' for w, _ in runs[1])} / "
        f"{', '.join(f'{w:.1f}' for w, _ in runs[2])}; two spinning processes got "
        f"{ceiling_now:.2f}x / {ceiling_after:.2f}x before / after, so the machine allowed "
        f"{min(2.0, machine / cores):.2f}x)", ">= 90% of the ceiling", reached >= 0.9)


def bench_queue(work: Path, copy_show: Callable[[Path], Path], example: str,
                row: Callable[[str, str, str, bool], None]) -> None:
    if shutil.which("redis-server") is None:
        print("  queue: skipped (no redis-server; apt-get install redis-server)")
        return
    ceiling = parallel_ceiling()
    print(f"  parallel ceiling before the queue runs: {ceiling:.2f}x", flush=True)
    one = timed_queue(*fresh(work, "queue1", copy_show, example), workers=1)
    two = timed_queue(*fresh(work, "queue2", copy_show, example), workers=2)
    row(f"{SCRIPTS} scripts, offline: two queue workers vs one",
        f"{one / two:.2f}x ({one:.0f} s vs {two:.0f} s)", ">= 1.7x", one / two >= 1.7)
