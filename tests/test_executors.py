"""One build, three executors: the same scripts built in this process, in a process pool
and on the Redis queue give the same exit code, the same messages and the same published
episodes, because all three run ``build.steps`` and report through one ``BuildOutcome``.

The inputs hold all three ways a run can end badly at once: a good script, a script that is
bad input (a host without an espeak voice), and a published episode whose MP3 was deleted
(a problem publishing reports, and exit 1). Before the build package, ``--jobs 2`` printed
that problem bare and exited 0 while the in-process build exited 1.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import feedparser
import pytest
from conftest import ENGLISH, copy_show, run_cli
from test_parallel import casey_without_espeak, short_script
from test_queue import HEARTBEAT, start_worker, stop

from duopod.build import BuildOutcome, exit_code
from duopod.build.outcome import BuildOutcome as Outcome


def prepared(root: Path) -> Path:
    """A show with one published episode whose MP3 is then lost, and three new scripts."""
    show = copy_show(root)
    built = run_cli(show, "build", f"scripts/{ENGLISH}", "--engine", "espeak")
    assert built.returncode == 0, built.stderr
    for mp3 in (show / "episodes").glob("2025-12-12-*/*.mp3"):
        mp3.unlink()
    for old in (show / "scripts").glob("*.md"):
        old.unlink()
    casey_without_espeak(show)
    short_script(show, "a", "Alpha")
    short_script(show, "b", "Bravo", hosts=("Alex", "Casey"))
    short_script(show, "c", "Charlie")
    return show


SCRIPTS = ("scripts/a.md", "scripts/b.md", "scripts/c.md")


def normalised(text: str, show: Path) -> str:
    text = text.replace(str(show), "SHOW")
    text = re.sub(r"\((\d+ at a time|on the queue)\)", "(WHERE)", text)
    text = re.sub(r"│ \d+\.\d +│", "│ S │", text)  # the seconds column
    text = re.sub(r"━+|─+| {2,}", " ", text)  # table widths follow the widest cell
    # the encoder's true peak moves by a tenth between encodes of the same audio
    text = re.sub(r"-?\d+\.\d LUFS, -?\d+\.\d dBTP", "L LUFS, P dBTP", text)
    return "\n".join(line.rstrip() for line in text.splitlines()
                     if not line.startswith("note:"))  # --jobs' note on cores


def published(show: Path) -> list[tuple[str, str, int]]:
    feed = feedparser.parse((show / "episodes" / "feed.xml").read_bytes())
    assert not feed.bozo, feed.bozo_exception
    return sorted((e.title, e.id, int(e.enclosures[0].length)) for e in feed.entries)


def folders(show: Path) -> list[str]:
    return sorted(p.name for p in (show / "episodes").iterdir()
                  if p.is_dir() and not p.name.startswith("."))


@pytest.mark.slow
def test_three_executors_agree(tmp_path: Path, redis_url: str) -> None:
    runs = {}
    local = prepared(tmp_path / "local")
    runs["in-process"] = (local, run_cli(local, "build", *SCRIPTS, "--engine", "espeak",
                                         "--jobs", "1"))
    pool = prepared(tmp_path / "pool")
    runs["pool"] = (pool, run_cli(pool, "build", *SCRIPTS, "--engine", "espeak",
                                  "--jobs", "2"))
    queued = prepared(tmp_path / "queue")
    worker = start_worker(queued, redis_url, tmp_path / "worker.log")
    try:
        runs["queue"] = (queued, run_cli(queued, "build", *SCRIPTS, "--engine", "espeak",
                                         "--queue", redis_url, timeout=300))
    finally:
        stop(worker)

    codes = {name: result.returncode for name, (_show, result) in runs.items()}
    assert codes == {"in-process": 1, "pool": 1, "queue": 1}, {
        name: result.stderr for name, (_show, result) in runs.items()}
    outs = {name: normalised(result.stdout, show) for name, (show, result) in runs.items()}
    errs = {name: normalised(result.stderr, show) for name, (show, result) in runs.items()}
    assert outs["pool"] == outs["in-process"] == outs["queue"], outs
    assert errs["pool"] == errs["in-process"] == errs["queue"], errs
    # the lost MP3 is reported by every executor, and the bad script named with its reason
    assert "the audio file is missing" in errs["in-process"]
    assert re.search(r"failed scripts/b\.md: bad input: .*'Casey'", outs["in-process"])
    assert "2 built, 1 failed" in outs["in-process"]
    expected = folders(local)
    assert expected == ["2025-12-12-why-open-weight-models-keep-getting-cheaper",
                        "2025-12-20-alpha", "2025-12-20-charlie"]
    assert folders(pool) == folders(queued) == expected
    assert published(pool) == published(local) == published(queued)


def test_exit_code_counts_problems_as_failure() -> None:
    landed = BuildOutcome(Path("a"), True)
    troubled = Outcome(Path("b"), True, problems=("x: the audio file is missing",),
                       fatal_problems=True)
    bad = BuildOutcome(Path("c"), False, error="e", bad_input=True)
    assert exit_code([landed]) == 0
    assert exit_code([landed, troubled]) == 1
    assert exit_code([bad]) == 2
    assert exit_code([bad, troubled]) == 1  # the site is wrong: not only bad input


def test_outcome_round_trips_through_json() -> None:
    outcome = Outcome(Path("scripts/a.md"), True, slug="a", title="测试 [/x]", problems=("p",),
                      fatal_problems=True, directory=Path("/x/a"), state="scheduled",
                      publish_at="2025-12-20T08:00:00+00:00", loudness_lufs=-16.2)
    assert Outcome.from_json(outcome.to_json()) == outcome


@pytest.mark.slow
def test_one_script_named_twice_is_built_once(tmp_path: Path) -> None:
    show = copy_show(tmp_path / "show")
    for old in (show / "scripts").glob("*.md"):
        old.unlink()
    short_script(show, "a", "Alpha")
    result = run_cli(show, "build", "scripts/a.md", "scripts/a.md", "scripts/a.md",
                     "--engine", "espeak", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("built Alpha") == 1
    assert "published: in the feed" in result.stdout.splitlines()[-1]


@pytest.mark.slow
def test_interrupted_pool_leaves_no_work_and_no_tracebacks(tmp_path: Path) -> None:
    """Ctrl-C during --jobs 2: one line, no KeyboardInterrupt traceback from the workers;
    their work folders are gone (swept by name) by the end of the next run at the latest."""
    import signal
    import sys
    import time

    show = copy_show(tmp_path / "show")
    for old in (show / "scripts").glob("*.md"):
        old.unlink()
    short_script(show, "a", "Alpha", turns=40)
    short_script(show, "c", "Charlie", turns=40)
    process = subprocess.Popen(
        [sys.executable, "-m", "duopod", "build", "scripts/a.md", "scripts/c.md",
         "--engine", "espeak", "--jobs", "2"], cwd=show, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    work = show / ".duopod" / "work"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (work.is_dir() and any(work.iterdir())):
        time.sleep(0.1)
    assert work.is_dir() and any(work.iterdir()), "no build started"
    process.send_signal(signal.SIGINT)  # the parent only, as a terminal's Ctrl-C would not
    _out, err = process.communicate(timeout=300)  # a guard against a hang
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    again = run_cli(show, "build", "scripts/a.md", "--engine", "espeak")
    assert again.returncode == 0, again.stderr
    assert not any(work.iterdir())


@pytest.mark.slow
def test_worker_of_another_show_never_builds_its_file(tmp_path: Path, redis_url: str) -> None:
    """Issue 28.1: shows A and B both hold scripts/tiny.md. A's job must not be built by B's
    worker (B's file, B's episodes/), and A's worker builds A's text."""
    shows = {}
    for name, title in (("a", "Show A"), ("b", "Show B")):
        show = copy_show(tmp_path / name)
        toml = show / "show.toml"
        toml.write_text(toml.read_text("utf-8").replace('title = "芯闻两人谈"',
                                                         f'title = "{title}"'), "utf-8")
        for old in (show / "scripts").glob("*.md"):
            old.unlink()
        short_script(show, "tiny", f"Tiny of {title}")
        shows[name] = show
    worker_b = start_worker(shows["b"], redis_url, tmp_path / "b.log")
    try:
        queued = run_cli(shows["a"], "enqueue", "scripts/tiny.md", "--engine", "espeak",
                         "--queue", redis_url)
        assert queued.returncode == 0, queued.stderr
        time.sleep(HEARTBEAT + 2)  # B's worker had every chance to take it
        assert not (shows["b"] / "episodes").is_dir() or not any(
            p.name.endswith("tiny-of-show-a") for p in (shows["b"] / "episodes").iterdir())
        status = run_cli(shows["a"], "queue", "status", "--queue", redis_url)
        assert "queued 1" in status.stdout, status.stdout
    finally:
        stop(worker_b)
    worker_a = start_worker(shows["a"], redis_url, tmp_path / "a.log")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "done 1" not in run_cli(
                shows["a"], "queue", "status", "--queue", redis_url).stdout:
            time.sleep(0.5)
    finally:
        stop(worker_a)
    assert folders(shows["a"]) == ["2025-12-20-tiny-of-show-a"]



@pytest.mark.slow
def test_worker_refuses_a_changed_script(tmp_path: Path, redis_url: str) -> None:
    """A job carries the script's hash: a worker whose copy differs refuses it, by name."""
    show = copy_show(tmp_path / "show")
    for old in (show / "scripts").glob("*.md"):
        old.unlink()
    script = short_script(show, "tiny", "Tiny")
    queued = run_cli(show, "enqueue", "scripts/tiny.md", "--engine", "espeak",
                     "--queue", redis_url)
    assert queued.returncode == 0, queued.stderr
    script.write_text(script.read_text("utf-8").replace("part 1", "part one"), "utf-8")
    worker = start_worker(show, redis_url, tmp_path / "w.log")
    try:
        deadline = time.monotonic() + 60
        status = ""
        while time.monotonic() < deadline and "failed 1" not in status:
            status = run_cli(show, "queue", "status", "--queue", redis_url).stdout
            time.sleep(0.5)
    finally:
        stop(worker)
    assert "failed 1" in status, status
    assert "differs from the script that was submitted" in status.replace("\n", " ") or \
        "differs" in status, status
    assert not (show / "episodes").is_dir() or folders(show) == []


def test_queue_address_errors_are_one_line(tmp_path: Path) -> None:
    show = copy_show(tmp_path / "show")
    for bad, words in (("http://x", "expected redis://"), ("redis://h:99999/0", "port"),
                       ("redis://h:6379/zero", "database")):
        result = run_cli(show, "queue", "status", "--queue", bad)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and words in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_queue_password_never_printed(tmp_path: Path) -> None:
    show = copy_show(tmp_path / "show")
    result = run_cli(show, "queue", "status", "--queue", "redis://:hunter2@127.0.0.1:1/0")
    assert result.returncode == 1
    assert "hunter2" not in result.stderr + result.stdout, result.stderr
    assert "redis://:***@127.0.0.1:1/0" in result.stderr, result.stderr


def test_markup_in_producer_text_is_printed_as_written(tmp_path: Path) -> None:
    """Issue 28.4: a title with rich markup in it neither crashes check nor is styled."""
    show = copy_show(tmp_path / "show")
    script = show / "scripts" / "markup.md"
    script.write_text("---\ntitle: \"测试 [/x] 标题 [bold]b[/bold]\"\ndate: 2025-12-10\n---\n"
                      "雷总\n好。\n董小姐\n好的。\n", encoding="utf-8")
    result = run_cli(show, "check", "scripts/markup.md")
    assert result.returncode == 0, result.stderr
    assert "测试 [/x] 标题 [bold]b[/bold]" in result.stdout


def test_redacted_urls() -> None:
    from duopod.urls import redact_url

    assert redact_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("redis://user:pw@h/0") == "redis://user:***@h/0"
    assert redact_url("https://token@h/v1") == "https://***@h/v1"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"


def test_stale_work_folders_are_swept(tmp_path: Path) -> None:
    from duopod.build.steps import new_work_folder, sweep_work
    from duopod.show.workspace import load_workspace

    show = copy_show(tmp_path / "show")
    workspace = load_workspace(show)
    mine = new_work_folder(workspace, "ep")
    dead = workspace.work_dir / "ep-999999999-abc123"  # no such process
    dead.mkdir()
    (dead / "x.mp3").write_bytes(b"x")
    assert sweep_work(workspace) == [dead]
    assert mine.is_dir() and not dead.exists()


def test_default_jobs_follow_the_measured_build() -> None:
    from duopod.build.pool import default_jobs

    assert default_jobs(1) == 1
    assert default_jobs(2) == 1  # one build keeps ~1.6 of two cores busy
    assert default_jobs(4) == 3
    assert default_jobs(8) == 5
    assert default_jobs(16) == 10




def test_a_done_job_no_longer_shows_an_old_error(tmp_path: Path, redis_url: str) -> None:
    from dataclasses import replace

    from duopod.build.queue import DONE, RETRYING, connect, get_state, set_state, status
    from duopod.show.workspace import load_workspace

    queue = connect(load_workspace(copy_show(tmp_path / "show")), redis_url)
    try:
        set_state(queue, "job1", RETRYING,
                  lambda record: replace(record, error="503 from the speech service"))
        assert get_state(queue, "job1").error
        set_state(queue, "job1", DONE, lambda record: replace(record, slug="s"))
        assert get_state(queue, "job1").error is None
        assert "error" not in json.loads(queue.client.hget(queue.jobs_key, "job1"))
        counts, _jobs = status(queue)
        assert counts["done"] == 1
    finally:
        queue.broker.close()


def test_a_malformed_job_record_is_one_line_not_a_key_error(tmp_path: Path,
                                                            redis_url: str) -> None:
    """Records are written by workers elsewhere: one that is not JSON, or whose fields
    have the wrong shape, is refused in one line naming the job and the field."""
    from duopod.build.queue import connect, get_state, jobs, status
    from duopod.errors import DuopodError
    from duopod.show.workspace import load_workspace

    queue = connect(load_workspace(copy_show(tmp_path / "show")), redis_url)
    try:
        for raw, words in (("{not json", "job1: not JSON"),
                           ('["a list"]', "job1: a JSON object is needed"),
                           ('{"state": "exploded"}', "job1: state: one of 'queued'"),
                           ('{"state": "done", "runs": "two"}', "runs: a whole number"),
                           ('{"state": "done", "outcome": {"ok": true}}', "outcome.script: "
                            "missing")):
            queue.client.hset(queue.jobs_key, "job1", raw)
            for read in (lambda: get_state(queue, "job1"), lambda: status(queue),
                         lambda: jobs(queue.client, queue.namespace)):
                with pytest.raises(DuopodError, match=words) as caught:
                    read()
                assert "\n" not in str(caught.value)
    finally:
        queue.broker.close()


def test_options_and_outcomes_from_json_check_their_shape() -> None:
    from duopod.build.options import BuildOptions
    from duopod.errors import DuopodError, InputError
    from duopod.script.parse import Overrides

    options = BuildOptions(engine="espeak", retry_for=5, overrides=Overrides(title="T"))
    assert BuildOptions.from_json(json.loads(json.dumps(options.to_json()))) == options
    assert BuildOptions.from_json({"retry_for": 5}).retry_for == 5.0  # JSON's 5 is 5.0
    for data, words in (({"concurrency": "4"}, "build options: concurrency: a whole number"),
                        ({"overrides": {"title": 3}}, "overrides.title: a string"),
                        ({"use_cache": 1}, "use_cache: true or false"),
                        ("engine", "a JSON object is needed")):
        with pytest.raises(InputError, match=words):
            BuildOptions.from_json(data)
    with pytest.raises(DuopodError, match=r"build outcome: problems\.1: a string is needed"):
        Outcome.from_json({"script": "a.md", "ok": True, "problems": ["fine", 2]})


def test_killed_publishes_and_old_bundles_are_swept(tmp_path: Path) -> None:
    """Issue 28.12: a killed publish left .publishing-PID-*.mp3 and .duopod/bundles/ grew
    for ever; a worker starting sweeps both (by the process named, and by age)."""
    import os

    from duopod.build.queue import KEEP_PUBLISHED_BUNDLES, PUBLISHED_MARK, sweep_bundles
    from duopod.show.workspace import load_workspace

    workspace = load_workspace(copy_show(tmp_path / "show"))
    live = workspace.bundles_dir / "job-live"
    done = workspace.bundles_dir / "job-done"
    for folder in (live, done):
        folder.mkdir(parents=True)
    dead_link = live / ".publishing-999999999-ep.mp3"
    own_link = live / f".publishing-{os.getpid()}-ep.mp3"
    for path in (dead_link, own_link, live / "ep.mp3"):
        path.write_bytes(b"x")
    mark = done / PUBLISHED_MARK
    mark.write_text("{}", encoding="utf-8")
    old = time.time() - KEEP_PUBLISHED_BUNDLES - 60
    os.utime(mark, (old, old))
    removed = sweep_bundles(workspace)
    assert set(removed) == {dead_link, done}
    assert own_link.exists() and (live / "ep.mp3").exists() and not done.exists()
