"""Scaling out (issue 14): eight scripts of the Mandarin example's size, rendered cold with
the offline engine, built with ``--jobs 2`` against ``--jobs 1``, and by two queue workers
against one (a throwaway redis-server on a free loopback port). Each run starts from a
fresh copy of the show and renders every turn (``--no-cache``), so the runs do equal work.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SCRIPTS = 8


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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def eight_scripts(show: Path, example: str) -> list[str]:
    """The example eight times over, each its own episode (title, date, slug)."""
    text = (show / "scripts" / example).read_text(encoding="utf-8")
    (show / "scripts" / example).unlink()
    names = []
    for i in range(SCRIPTS):
        copy = text.replace("2025-12-10", f"2025-11-{10 + i:02d}", 1)
        copy = copy.replace("title: ", f"title: 第{i + 1}期 ", 1)
        name = f"scripts/copy-{i + 1}.md"
        (show / name).write_text(copy, encoding="utf-8")
        names.append(name)
    return names


def fresh(work: Path, label: str, copy_show: Callable[[Path], Path], example: str
          ) -> tuple[Path, list[str]]:
    show = copy_show(work / label)
    return show, eight_scripts(show, example)


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


def _finished(records: dict[str, dict]) -> bool:
    failed = [r for r in records.values() if r.get("state") == "failed"]
    if failed:
        raise RuntimeError(f"queued builds failed: {failed}")
    return len(records) == SCRIPTS and all(r.get("state") == "done" for r in records.values())


def bench_jobs(work: Path, copy_show: Callable[[Path], Path], example: str,
               row: Callable[[str, str, str, bool], None]) -> None:
    ceiling = parallel_ceiling()
    row("parallel ceiling now: two CPU-bound processes vs one", f"{ceiling:.2f}x",
        ">= 1.7x (an idle 2-core machine: 2x)", ceiling >= 1.7)
    cpu = _children_cpu()
    one = timed_build(*fresh(work, "jobs1", copy_show, example), jobs=1)
    cpu_one, cpu = _children_cpu() - cpu, _children_cpu()
    two = timed_build(*fresh(work, "jobs2", copy_show, example), jobs=2)
    cpu_two = _children_cpu() - cpu
    row(f"{SCRIPTS} scripts, offline: build --jobs 2 vs --jobs 1",
        f"{one / two:.2f}x ({one:.0f} s vs {two:.0f} s wall; CPU {cpu_one:.0f} s vs "
        f"{cpu_two:.0f} s)", ">= 1.7x", one / two >= 1.7)


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
