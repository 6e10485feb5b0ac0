"""The studio's benchmarks (``python benchmarks/run.py studio``), through its HTTP API on
a loopback port, as the page calls it:

- first sound of an uncached one-sentence line (the play button): the first PCM bytes
  of the streamed WAV, with espeak and with kokoro (warm model:
  ``kokoro_sessions.shared_session`` loads it once per process; the first call, which loads
  it, is reported apart); and for a three-sentence turn, its first sound against its
  whole (what streaming saves);
- typing to an updated "N of M turns to render" in Chromium (the page's debounce, the
  check and the count's answer, drawn), when Playwright and Debian's chromium are there;
- the timeline's levels of a 13-minute MP3: measured (one ffmpeg decode) and read back
  from ``.duopod/studio/levels/``;
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
        """Seconds to the first sound: the WAV stream's header, then its first samples."""
        return self.heard(body)[0]

    def heard(self, body: dict[str, Any]) -> tuple[float, float]:
        """Seconds to the first samples of the streamed WAV, and to its end."""
        started = time.perf_counter()
        with self.post("/api/hear", body) as response:
            assert len(response.read(44)) == 44  # the header goes out at once
            assert response.read(2)  # the first sample: the first sentence is spoken
            first = time.perf_counter() - started
            response.read()
            return first, time.perf_counter() - started

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
        if not kokoro.unavailable():
            _kokoro_overhead(client, show, script_name, original, row)
        if kokoro.unavailable():
            row("studio: play an uncached line, kokoro", f"skipped: {kokoro.unavailable()}",
                "< 1.5 s", False)
        for engine in engines:
            _streamed_turn(client, script_name, original, engine, row)
        _rebuild(client, script, script_name, original, row)
        _typing_to_count(studio.url, script_name, row)  # built: "0 of 31" to begin with
    _timeline(work, show, row)


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


def _kokoro_overhead(client: Client, show: Path, name: str, original: str, row: Row
                     ) -> None:
    """What the studio adds to kokoro's own time on a sentence: the first sound of an
    uncached line through the HTTP API against the same sentence spoken by the model in
    this process (the studio's own engine and session), alternating, so both meet the
    same load."""
    from duopod.show.workspace import load_workspace
    from duopod.studio.hearing import engine_named

    engine = engine_named("kokoro")
    settings = engine.settings_for(load_workspace(show).profile_for("雷总"))
    studio, bare = [], []
    for attempt in range(3):
        sentence = f"这是第{30_000 + attempt}次试听的一句话。"
        studio.append(client.first_audio({"name": name, "turn": 0, "engine": "kokoro",
                                          "text": original.replace(FIRST_TURN, sentence, 1)}))
        started = time.perf_counter()
        engine.sentence_audio(sentence, settings)  # type: ignore[attr-defined]
        bare.append(time.perf_counter() - started)
    row(f"studio: kokoro's first sound against the model's own time on the sentence "
        f"(best of 3, alternating: {min(studio):.2f} s vs {min(bare):.2f} s)",
        f"{min(studio) - min(bare):+.2f} s", "< 0.3 s", min(studio) - min(bare) < 0.3)


def _streamed_turn(client: Client, name: str, original: str, engine: str, row: Row) -> None:
    """A three-sentence turn, uncached: first sound against the whole turn's arrival."""
    best: tuple[float, float] | None = None
    for attempt in range(3):
        line = (f"第{attempt}遍,这是第一句话。这是第二句,稍微长一些的一句话。"
                f"最后是第三句,也是最长的一句,用来比较整段和第一句。")
        text = original.replace(FIRST_TURN, line, 1)
        first, whole = client.heard({"name": name, "text": text, "turn": 0, "engine": engine})
        best = (first, whole) if best is None or first < best[0] else best
    assert best is not None
    row(f"studio: a three-sentence uncached turn, first sound vs the whole turn, {engine} "
        f"(best of 3: {best[0]:.2f} s vs {best[1]:.2f} s)", f"{best[0] / best[1]:.2f}x",
        "< 1x (streamed)", best[0] < best[1])


def _typing_to_count(url: str, name: str, row: Row) -> None:
    """In Chromium: a key typed into a turn, to "1 of N turns to render" on the page."""
    import shutil as which

    chromium = which.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        row("studio: typing to an updated count", "skipped: no playwright", "< 1 s", False)
        return
    if not Path(chromium).exists():
        row("studio: typing to an updated count", "skipped: no chromium", "< 1 s", False)
        return
    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(bypass_csp=True)
        page.goto(f"{url}edit/{name}")
        page.wait_for_function("document.getElementById('stale').dataset.checks !== undefined")
        page.evaluate("""() => { const t = document.getElementById('text');
            const at = t.value.indexOf('今天是12月10日');
            t.focus(); t.setSelectionRange(at, at); }""")
        for key in "一二三四五":
            checks = page.evaluate("document.getElementById('stale').dataset.checks")
            started = time.perf_counter()
            page.keyboard.type(key)
            page.wait_for_function(f"document.getElementById('stale').dataset.checks !== "
                                   f"'{checks}' && document.getElementById('stale')"
                                   f".textContent.startsWith('1 of')")
            timings.append(time.perf_counter() - started)
            page.keyboard.press("Backspace")
            page.wait_for_function("document.getElementById('stale').textContent"
                                   ".startsWith('0 of')")
        browser.close()
    timings.sort()
    median = timings[len(timings) // 2]
    row(f"studio: typing to an updated count in Chromium (median of 5, best {timings[0]:.2f} s; "
        "the page waits 0.25 s after the last key)", f"{median:.2f} s", "< 1 s", median < 1)


def _timeline(work: Path, show: Path, row: Row) -> None:
    """The levels of a 13-minute MP3 (speech-like bursts), measured, then read back."""
    import subprocess

    from duopod.audio.decode import ffmpeg_exe
    from duopod.show.workspace import load_workspace
    from duopod.studio.timeline import levels_of, measure_levels

    audio = work / "thirteen-minutes.mp3"
    graph = "sine=f=220:d=780,volume='0.2+0.6*gt(sin(t*3),0)':eval=frame"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", graph,
                    "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k",
                    str(audio)], check=True)
    from _scale_out import children_cpu

    workspace = load_workspace(show)
    started, cpu = time.perf_counter(), children_cpu()
    levels = measure_levels(audio)
    measured, cpu = time.perf_counter() - started, children_cpu() - cpu
    levels_of(workspace, "thirteen", audio)  # into the cache
    started = time.perf_counter()
    again = levels_of(workspace, "thirteen", audio)
    cached = time.perf_counter() - started
    assert again.peaks == levels.peaks and len(levels.peaks) >= 780 * levels.per_second - 1
    row(f"studio: the timeline's levels of a 13-minute MP3, CPU of its one ffmpeg decode "
        f"({measured:.2f} s wall on this machine; {len(levels.peaks):,} values, read back "
        f"from .duopod/ in {cached * 1000:.0f} ms)", f"{cpu:.2f} s", "< 2 s", cpu < 2)


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
