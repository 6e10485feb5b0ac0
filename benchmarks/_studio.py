"""The studio's benchmarks (``python benchmarks/run.py studio``), through its HTTP API on
a loopback port, as the page calls it:

- first audio of an uncached one-sentence line (the play button), with espeak and with
  kokoro (warm model: ``kokoro_sessions.shared_session`` loads it once per process; the
  first call, which loads it, is reported apart);
- rebuilding after one sentence is edited (one turn rendered, then mix and publish)
  against a full warm build of the same episode (every turn cached), alternating A B.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = Callable[[str, str, str, bool], None]
FIRST_TURN = "早上好,欢迎收听芯闻两人谈。我是雷总,今天是12月10日,星期三。"


class Client:
    """The page's requests: its anti-CSRF token, JSON posts, the build's events."""

    def __init__(self, url: str):
        self.url = url
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        found = re.search(r'name="csrf" content="([^"]+)"', page)
        assert found, "no csrf token in the page"
        self.csrf = found.group(1)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + path.lstrip("/"), data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-Duopod-CSRF": self.csrf})
        return urllib.request.urlopen(request, timeout=600)

    def first_audio(self, body: dict[str, Any]) -> float:
        started = time.perf_counter()
        with self.post("/api/hear", body) as response:
            assert response.read(44)  # the WAV header: the audio has begun to arrive
            return time.perf_counter() - started

    def build(self, name: str, engine: str) -> dict[str, Any]:
        job = json.load(self.post("/api/build", {"name": name, "engine": engine}))
        with urllib.request.urlopen(self.url + job["events"].lstrip("/"), timeout=600) as events:
            for raw in events:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    event = json.loads(line.removeprefix("data: "))
                    if event["kind"] == "outcome":
                        return {**event, "stale": len(job["stale"])}
        raise AssertionError("the build's events ended without an outcome")


def bench_studio(work: Path, copy_show: Callable[[Path], Path], script_name: str,
                 repo: Path, row: Row) -> None:
    from duopod.speech.engines import kokoro
    from duopod.studio.app import in_background

    print("studio (HTTP API on a loopback port)")
    show = copy_show(work / "studio")
    shutil.copy(repo / "lexicon.toml", show / "lexicon.toml")
    script = show / "scripts" / script_name
    original = script.read_text(encoding="utf-8")
    with in_background(show, engine="espeak") as studio:
        client = Client(studio.url)
        engines = ["espeak"] + ([] if kokoro.unavailable() else ["kokoro"])
        for engine in engines:
            _first_audio(client, script_name, original, engine, row)
        if kokoro.unavailable():
            row("studio: play an uncached line, kokoro", f"skipped: {kokoro.unavailable()}",
                "< 1.5 s", False)
        _rebuild(client, script, script_name, original, row)


def _line(original: str, number: int) -> str:
    return original.replace(FIRST_TURN, f"这是第{number}次试听的一句话。", 1)


def _first_audio(client: Client, name: str, original: str, engine: str, row: Row) -> None:
    counter = iter(range(10_000 * (1 + len(engine)), 10_000 * (2 + len(engine))))
    first = client.first_audio({"name": name, "text": _line(original, next(counter)),
                                "turn": 0, "engine": engine})
    if engine == "kokoro":
        row("studio: play, kokoro, first line of the process (model load included)",
            f"{first:.2f} s", "-", True)
    warm = min(client.first_audio({"name": name, "text": _line(original, next(counter)),
                                   "turn": 0, "engine": engine}) for _ in range(3))
    cached = min(client.first_audio({"name": name, "text": original, "turn": 0,
                                     "engine": engine}) for _ in range(2))
    row(f"studio: play an uncached one-sentence line to first audio, {engine} (best of 3; "
        f"a cached turn {cached * 1000:.0f} ms)", f"{warm:.2f} s", "< 1.5 s", warm < 1.5)


def _rebuild(client: Client, script: Path, name: str, original: str, row: Row) -> None:
    started = time.perf_counter()
    cold = client.build(name, "espeak")
    cold_time = time.perf_counter() - started
    assert cold["exit_code"] == 0, cold["messages"]
    full, edited = [], []
    for attempt in range(3):
        started = time.perf_counter()
        warm = client.build(name, "espeak")
        full.append(time.perf_counter() - started)
        assert warm["exit_code"] == 0 and warm["stale"] == 0, warm
        script.write_text(original.replace("三年来", f"{attempt + 4}年来", 1), encoding="utf-8")
        started = time.perf_counter()
        one = client.build(name, "espeak")
        edited.append(time.perf_counter() - started)
        assert one["exit_code"] == 0 and one["stale"] == 1, one
        assert one["outcomes"][0]["rendered"] == 1, one
    ratio = min(edited) / min(full)
    row(f"studio: one edited turn re-rendered and republished vs a full warm build "
        f"({min(edited):.2f} s vs {min(full):.2f} s; cold build {cold_time:.2f} s)",
        f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5)
