"""Several episodes at once (`duopod build --jobs N`): good scripts land beside a broken
one, the exit code and the summary say which failed and why, and two jobs really overlap."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import copy_show, run_cli

from duopod.build import BuildOptions, BuildOutcome, build_scripts, exit_code
from duopod.show.workspace import load_workspace


def short_script(folder: Path, name: str, title: str, hosts: tuple[str, str] = ("Alex", "Sam"),
                 turns: int = 3) -> Path:
    """A small English script (a few turns), so a build takes seconds offline."""
    lines = ["---", f"title: {title}", "date: 2025-12-20", "language: en-US",
             f"hosts: [{', '.join(hosts)}]", "---"]
    for i in range(turns):
        lines += [hosts[i % 2], f"{title}, part {i + 1}. Cheaper models keep arriving."]
    path = folder / "scripts" / f"{name}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def casey_without_espeak(show: Path) -> None:
    """A host whose profile has no [espeak] table: the script parses and `check` passes,
    but an espeak build fails when it renders."""
    (show / "voices" / "casey.toml").write_text(
        'speaker = "Casey"\n\n[edge]\nvoice = "en-US-AriaNeural"\n', encoding="utf-8")


@pytest.fixture
def three(tmp_path: Path) -> tuple[Path, list[Path]]:
    show = copy_show(tmp_path / "show")
    for old in (show / "scripts").glob("*.md"):
        old.unlink()
    casey_without_espeak(show)
    paths = [short_script(show, "a", "Alpha"),
             short_script(show, "b", "Bravo", hosts=("Alex", "Casey")),
             short_script(show, "c", "Charlie")]
    return show, paths


def episode_folders(show: Path) -> list[str]:
    return sorted(p.name for p in (show / "episodes").iterdir()
                  if p.is_dir() and not p.name.startswith("."))


def published_guids(show: Path) -> list[str]:
    feed = (show / "episodes" / "feed.xml").read_text(encoding="utf-8")
    return re.findall(r"<guid[^>]*>([^<]+)</guid>", feed)


def test_exit_code_rules() -> None:
    ok = BuildOutcome(Path("a"), True)
    bad = BuildOutcome(Path("b"), False, error="x", bad_input=True)
    broken = BuildOutcome(Path("c"), False, error="y")
    assert exit_code([ok, ok]) == 0
    assert exit_code([ok, bad]) == 2
    assert exit_code([ok, bad, broken]) == 1


@pytest.mark.slow
def test_one_broken_script_among_good_ones(three: tuple[Path, list[Path]]) -> None:
    show, paths = three
    events = []
    outcomes = build_scripts(load_workspace(show), paths, BuildOptions(engine="espeak"), jobs=2,
                             on_event=events.append).outcomes
    by_name = {o.script.name: o for o in outcomes}
    assert by_name["a.md"].ok and by_name["c.md"].ok
    assert not by_name["b.md"].ok and by_name["b.md"].bad_input
    assert "Casey" in (by_name["b.md"].error or "")
    assert exit_code(outcomes) == 2
    assert episode_folders(show) == ["2025-12-20-alpha", "2025-12-20-charlie"]
    assert len(published_guids(show)) == 2
    kinds = {(e.script.name, e.kind) for e in events}
    assert {("a.md", "encoding"), ("a.md", "published"), ("b.md", "failed")} <= kinds
    # nothing of the builds is left in the work folders
    assert not any((show / ".duopod" / "work").iterdir())


@pytest.mark.slow
def test_two_jobs_overlap(three: tuple[Path, list[Path]]) -> None:
    show, paths = three
    good = [paths[0], paths[2]]
    outcomes = build_scripts(load_workspace(show), good, BuildOptions(engine="espeak"),
                             jobs=2).outcomes
    first, second = outcomes
    assert first.ok and second.ok
    assert first.started < second.finished and second.started < first.finished, outcomes


@pytest.mark.slow
def test_cli_summary_and_exit_code(three: tuple[Path, list[Path]]) -> None:
    show, _paths = three
    result = run_cli(show, "build", "scripts/a.md", "scripts/b.md", "scripts/c.md",
                     "--engine", "espeak", "--jobs", "2")
    assert result.returncode == 2, result.stderr
    assert "2 built, 1 failed" in result.stdout
    assert re.search(r"failed scripts/b\.md: bad input: .*'Casey'", result.stdout), result.stdout
    # output to a pipe is not squeezed into 80 columns: each row whole on one line
    assert re.search(r"scripts/a\.md +│ published +│ 2025-12-20-alpha +│ \d+:\d\d +│",
                     result.stdout), result.stdout
    record = json.loads((show / "episodes" / "2025-12-20-alpha" / "episode.json").read_text("utf-8"))
    assert record["engine"] == "espeak"


def test_gated_engines_share_one_bound() -> None:
    """Two engines (two episodes) on one semaphore of 2: never more than 2 renders at once,
    however many each would start."""
    import asyncio
    import threading

    from duopod.build.pool import GatedEngine

    running = 0
    peak = 0

    class Slow:
        name = "slow"
        version = "1"
        voice_language = None

        async def render(self, sentences, settings, notify=None):
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.02)
            running -= 1
            return sentences

    gate = threading.BoundedSemaphore(2)
    engines = [GatedEngine(Slow(), gate, poll=0.001) for _ in range(2)]

    async def main() -> None:
        await asyncio.gather(*(e.render(["x"], {}) for e in engines for _ in range(4)))

    asyncio.run(main())
    assert peak == 2
    assert gate.acquire(blocking=False) and gate.acquire(blocking=False)  # all released
    assert engines[0].voice_language is None  # what else the engine has shows through


def test_a_gated_engine_keeps_the_voice_language_check() -> None:
    import threading

    from duopod.build.pool import GatedEngine
    from duopod.speech.engines import get_engine

    inner = get_engine("espeak")
    gated = GatedEngine(inner, threading.BoundedSemaphore(1))
    assert getattr(gated, "voice_language", None) is not None


def test_one_turn_rendered_twice_at_once_keeps_each_builds_audio(tmp_path: Path) -> None:
    """Two builds render the same turn (a show's greeting) at once and get different audio
    (engines are not bit-for-bit repeatable): each keeps reading what its timings describe,
    and the cache ends with one whole entry."""
    import numpy as np

    from duopod.speech.cache import SpeechCache
    from duopod.speech.model import SentenceSpan, Speech

    cache = SpeechCache(tmp_path)
    first = cache.put("ab" * 32, Speech(np.full(1000, 0.25), [SentenceSpan("hi", 0, 1)]))
    second = cache.put("ab" * 32, Speech(np.full(1500, -0.25), [SentenceSpan("hi", 0, 1)]))
    assert len(np.asarray(first.samples)) == 1000 and np.asarray(first.samples)[0] > 0
    assert len(np.asarray(second.samples)) == 1500
    kept = cache.get("ab" * 32)
    assert kept is not None and len(np.asarray(kept.samples)) == 1500


def test_a_bundle_reads_back_from_its_folder_anywhere(tmp_path: Path) -> None:
    """bundle.json is plain JSON with paths relative to its folder and the show, so a
    publish on another machine (the show mounted elsewhere) reads the same bundle."""
    from duopod.build.bundle import Bundle, read_bundle, write_bundle
    from duopod.mix import Measurement, Timeline
    from duopod.text.notes import ShowNotes

    folder = tmp_path / "made-here"
    folder.mkdir()
    timeline = Timeline(turns=(), chapters=(), duration=12.5)
    bundle = Bundle(Path("scripts/a.md"), "espeak", folder / "a.mp3", timeline,
                    Measurement(-16.0, -1.5), ShowNotes("s", ["p"], ["k"]), 3, 1)
    write_bundle(bundle, folder)
    moved = tmp_path / "mounted-elsewhere"
    folder.rename(moved)
    again = read_bundle(moved)
    assert again == Bundle(Path("scripts/a.md"), "espeak", moved / "a.mp3", timeline,
                           Measurement(-16.0, -1.5), ShowNotes("s", ["p"], ["k"]), 3, 1)
    assert read_bundle(tmp_path) is None


def _worker_state() -> dict[str, object]:
    """What a pool worker holds before its first script (runs in the worker)."""
    import os
    import sys

    jieba = sys.modules.get("jieba")
    return {"warm": "duopod.build.warm" in sys.modules,
            "dictionary": bool(jieba is not None and jieba.dt.initialized),
            "variable": os.environ.get("DUOPOD_TEST_FORKED"), "folder": os.getcwd()}


def test_workers_start_loaded_yet_see_the_parent_as_it_is_now(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers fork from a server that loaded the build's modules and jieba's dictionary
    once; the environment and folder they work in are the parent's when the pool starts,
    not the server's from earlier."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from duopod.build import pool

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server on this platform: workers are spawned")
    monkeypatch.setenv("DUOPOD_TEST_FORKED", "before")
    pool.start_fork_server()
    monkeypatch.setenv("DUOPOD_TEST_FORKED", "after")
    monkeypatch.chdir(tmp_path)
    context = pool._context()
    with ProcessPoolExecutor(1, mp_context=context, initializer=pool._init_worker,
                             initargs=(None, None, dict(os.environ), os.getcwd())) as workers:
        state = workers.submit(_worker_state).result(timeout=120)
    assert state == {"warm": True, "dictionary": True, "variable": "after",
                     "folder": str(tmp_path)}
