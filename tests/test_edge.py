"""The edge engine: the real edge_tts client against a local server that speaks its protocol."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import ENGLISH, MANDARIN, copy_show, decode_mp3
from edge_server import EdgeServer, Knobs, Request
from test_build import episode_dir
from test_mix import onset, sentences_heard_alone

from duopod.audio.decode import SAMPLE_RATE
from duopod.build import (
    BuildOptions,
    build_episode,
    load_script,
    make_engine,
    render,
)
from duopod.errors import DuopodError, InputError
from duopod.show.workspace import load_workspace
from duopod.speech.choice import resolve_engine
from duopod.speech.engines.edge import REQUEST_BYTES, split_for_requests
from duopod.speech.engines.edge_settings import EdgeSettings
from duopod.speech.model import RenderedTurn
from duopod.speech.render import TurnEvent

FAST = {"retry_for": 5.0}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EdgeServer]:
    edge = EdgeServer(Knobs()).start()
    edge.install(monkeypatch)
    monkeypatch.setattr("duopod.speech.engines.edge.BASE_DELAY", 0.01)
    yield edge
    edge.stop()


def build(show: Path, script: str, events: list[TurnEvent] | None = None, **options):
    ws = load_workspace(show)
    opts = BuildOptions(engine="edge", **{**FAST, **options})
    return build_episode(ws, show / "scripts" / script, opts,
                         progress=events.append if events is not None else None)


def test_voices_and_prosody_reach_the_service(show: Path, server: EdgeServer) -> None:
    result = build(show, ENGLISH)
    voices = {r.voice for r in server.requests}
    assert voices == {"en-US-GuyNeural", "en-US-JennyNeural"}
    assert all((r.rate, r.pitch, r.volume) == ("+0%", "+0Hz", "+0%") for r in server.requests)
    lei = show / "voices" / "lei.toml"
    assert 'rate = "+5%"' in lei.read_text(encoding="utf-8")
    assert result.engine == "edge" and result.rendered == 9
    assert json.loads((result.directory / "episode.json").read_text())["engine"] == "edge"


def test_mandarin_prosody_and_timings_land_on_the_timeline(show: Path, server: EdgeServer
                                                           ) -> None:
    result = build(show, MANDARIN)
    assert {(r.voice, r.rate) for r in server.requests} == {
        ("zh-CN-YunjianNeural", "+5%"), ("zh-CN-XiaoxiaoNeural", "+0%")}
    folder = episode_dir(show, "2025-12-10")
    record = json.loads((folder / "episode.json").read_text(encoding="utf-8"))
    samples = decode_mp3(folder / record["audio"]["file"])
    assert abs(len(samples) / SAMPLE_RATE - record["duration"]) < 0.05
    sentences = [s for t in record["timeline"]["turns"] for s in t["sentences"]]
    assert len(sentences) > len(result.script.turns)  # sentence-level, from the service
    # every sentence starts where its voice starts, within 50 ms
    alone = sentences_heard_alone(record["timeline"]["turns"])
    assert len(alone) >= len(sentences) - 6  # all but the cut-in and the backchannels
    for sentence in alone:
        assert abs(onset(samples, sentence["start"]) - sentence["start"]) < 0.05, sentence


def test_long_chinese_text_is_split_under_the_limit() -> None:
    text = ("这说明了什么？说明我们的军队非常清楚，未来战场上，算力就是战斗力。" * 300
            + "没有标点的长句" * 400)
    pieces = split_for_requests(text)
    assert all(len(p.encode()) <= REQUEST_BYTES for p in pieces)
    assert "".join(pieces) == text
    assert all(p.endswith("。") for p in pieces[:-10])  # cut at sentence ends first


def test_a_long_turn_is_rendered_in_pieces_and_stitched(show: Path, server: EdgeServer) -> None:
    turn = "这是一个很长的回合，用来测试分段。" * 120  # ~6 KB of UTF-8
    (show / "scripts" / "long.md").write_text(
        f"---\ntitle: 长回合\ndate: 2025-12-20\n---\n雷总\n{turn}\n董小姐\n好。\n", encoding="utf-8")
    result = build(show, "long.md")
    long_requests = [r for r in server.requests if r.voice == "zh-CN-YunjianNeural"]
    assert len(long_requests) >= 5
    assert all(len(r.text.encode()) <= REQUEST_BYTES for r in long_requests)
    assert "".join(r.text for r in long_requests) == turn
    timeline = result.record.to_dict()["timeline"]["turns"][0]
    starts = [s["start"] for s in timeline["sentences"]]
    assert len(starts) == 120 and starts == sorted(starts)
    assert timeline["sentences"][-1]["end"] <= timeline["end"] + 0.01


def test_concurrency_is_bounded_and_order_kept(show: Path, server: EdgeServer) -> None:
    server.knobs.latency = 0.15
    server.knobs.jitter = 0.3
    result = build(show, MANDARIN, concurrency=3)
    assert server.max_open_connections == 3
    turns = result.record.to_dict()["timeline"]["turns"]
    assert [(t["speaker"], t["text"]) for t in turns] == [
        (t.speaker, t.text) for t in result.script.turns]
    assert [t["start"] for t in turns] == sorted(t["start"] for t in turns)


def _render(show: Path, script: str, concurrency: int) -> list[RenderedTurn]:
    ws = load_workspace(show)
    options = BuildOptions(engine="edge", concurrency=concurrency, **FAST)
    return render(ws, load_script(ws, show / "scripts" / script, options),
                  make_engine("edge", options), options)


def _most_at_once(requests: list[Request]) -> int:
    """The largest number of these requests the server was answering at one moment."""
    return max(sum(r.started <= s.started < r.finished for r in requests) for s in requests)


def test_a_long_turns_requests_spread_over_free_connections_within_the_bound(
        show: Path, server: EdgeServer) -> None:
    server.knobs.latency = 0.3
    long_turn = "这是一个很长的回合，用来测试分段。" * 50  # ~2.5 KB: three requests
    short = ["好。", "这样啊。", "对，就是这样。", "明白了。"]
    hosts = ["董小姐", "雷总"] * 2
    text = "".join(f"{host}\n{line}\n" for host, line in zip(hosts, short, strict=True))
    (show / "scripts" / "uneven.md").write_text(
        f"---\ntitle: 长短不一\ndate: 2025-12-21\n---\n{text}雷总\n{long_turn}\n",
        encoding="utf-8")
    alone = copy_show(show.parent / "alone")
    shutil.copy(show / "scripts" / "uneven.md", alone / "scripts")
    one_at_a_time = _render(alone, "uneven.md", concurrency=1)
    assert server.max_open_connections == 1
    server.requests.clear()
    server.max_open_connections = 0

    rendered = _render(show, "uneven.md", concurrency=3)
    assert server.max_open_connections == 3  # the bound is the total, and it is used
    long_requests = [r for r in server.requests if r.text in long_turn]
    assert len(long_requests) == 3 and _most_at_once(long_requests) >= 2
    # the pieces still land in order, with the same audio and sentence timings
    assert [r.turn for r in rendered] == [r.turn for r in one_at_a_time]
    for ours, reference in zip(rendered, one_at_a_time, strict=True):
        assert ours.speech.sentences == reference.speech.sentences
        assert np.array_equal(np.asarray(ours.speech.samples),
                              np.asarray(reference.speech.samples))


def test_one_connection_at_a_time_with_concurrency_1(show: Path, server: EdgeServer) -> None:
    server.knobs.latency = 0.05
    build(show, ENGLISH, concurrency=1)
    assert server.max_open_connections == 1


@pytest.mark.parametrize("fault", ["handshake_503", "close_midstream", "no_audio"])
def test_transient_faults_are_retried(show: Path, server: EdgeServer, fault: str) -> None:
    undisturbed = build(copy_show(show.parent / "clean"), ENGLISH)
    setattr(server.knobs, fault, 2)
    events: list[TurnEvent] = []
    result = build(show, ENGLISH, events=events, concurrency=1)
    retried = [e for e in events if e.status == "retrying"]
    longest = max(result.script.turns, key=lambda t: len(t.text.encode()))  # rendered first
    assert len(retried) == 2 and retried[0].turn.index == longest.index
    assert result.rendered == 9
    # the retried turn has all its audio and timings: identical to an undisturbed render
    assert result.record.timeline == undisturbed.record.timeline


def test_refused_connection_fails_at_once(show: Path, server: EdgeServer) -> None:
    server.knobs.handshake_status = 401
    with pytest.raises(DuopodError, match=r"2025-12-12-open-weights.md:\d+: turn \d+ .*HTTP 401"):
        build(show, ENGLISH, concurrency=1)
    assert server.connections == 0 and server.requests == []


def test_unknown_voice_fails_before_any_request(show: Path, server: EdgeServer) -> None:
    profile = show / "voices" / "sam.toml"
    profile.write_text(profile.read_text().replace("en-US-JennyNeural", "en-US-NobodyNeural"))
    with pytest.raises(InputError) as caught:
        build(show, ENGLISH)
    assert "en-US-NobodyNeural" in str(caught.value) and "'Sam'" in str(caught.value)
    assert "sam" in str(caught.value) and server.requests == []


def test_invalid_prosody_fails_naming_host_and_profile(show: Path, server: EdgeServer) -> None:
    profile = show / "voices" / "dong.toml"
    profile.write_text(profile.read_text(encoding="utf-8").replace('rate = "+0%"', 'rate = "fast"'),
                       encoding="utf-8")
    with pytest.raises(InputError, match=r"dong.toml:6: edge rate 'fast' in profile 'dong' \(host '董小姐'\)"):
        build(show, MANDARIN)
    assert server.requests == []


def test_a_failed_run_keeps_finished_turns_and_resumes(show: Path, server: EdgeServer) -> None:
    server.knobs.fail_after = 5  # the service breaks down after five requests
    with pytest.raises(DuopodError) as caught:
        build(show, MANDARIN, concurrency=1, retry_for=0.05)
    assert "scripts/2025-12-10-h200.md:" in str(caught.value)
    assert "gave up after" in str(caught.value) and "--retry-for 0.1 s" in str(caught.value)
    assert not (show / "episodes" / "feed.xml").exists()  # nothing half-published
    server.knobs.fail_after = None
    events: list[TurnEvent] = []
    result = build(show, MANDARIN, events=events, concurrency=1)
    assert result.cached == 5 and result.rendered == len(result.script.turns) - 5
    assert sum(e.status == "cached" for e in events) == 5


def test_no_cache_renders_everything_again(show: Path, server: EdgeServer) -> None:
    build(show, ENGLISH)
    before = len(server.requests)
    assert build(show, ENGLISH).rendered == 0
    assert len(server.requests) == before
    assert build(show, ENGLISH, use_cache=False).rendered == 9


def test_editing_one_line_rerenders_only_that_turn(show: Path, server: EdgeServer) -> None:
    build(show, ENGLISH)
    script = show / "scripts" / ENGLISH
    script.write_text(script.read_text().replace("See you next time.", "See you tomorrow."))
    result = build(show, ENGLISH)
    assert (result.rendered, result.cached) == (1, 8)


def test_auto_picks_edge_when_reachable(server: EdgeServer, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    notes: list[str] = []
    assert resolve_engine("auto", notes.append) == "edge" and notes == []
    monkeypatch.setattr("edge_tts.communicate.WSS_URL", "ws://127.0.0.1:9/x?TrustedClientToken=x")
    monkeypatch.setattr("duopod.speech.engines.kokoro.unavailable", lambda: "not installed")
    assert resolve_engine("auto", notes.append) == "espeak"
    assert "espeak" in notes[0] and "not reachable" in notes[0]


def test_voice_list_from_the_service_and_a_clear_error_offline(
        server: EdgeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from duopod.speech.engines.edge import list_voices

    chinese = asyncio.run(list_voices("zh-CN"))
    assert {v.name for v in chinese} == {
        "zh-CN-YunjianNeural", "zh-CN-XiaoxiaoNeural", "zh-CN-YunxiNeural"}
    monkeypatch.setattr("edge_tts.voices.VOICE_LIST", "http://127.0.0.1:9/voices/list?x=1")
    with pytest.raises(DuopodError, match="cannot reach Microsoft's voice list"):
        asyncio.run(list_voices())


def test_a_silent_service_times_out_and_is_retried(server: EdgeServer) -> None:
    import asyncio

    from duopod.speech.engines.edge import EdgeEngine, RetryPolicy

    server.knobs.stall = 1
    server.knobs.stall_seconds = 4.0
    engine = EdgeEngine(retry=RetryPolicy(budget=5, base_delay=0.01), receive_timeout=1)
    settings = EdgeSettings("en-US-GuyNeural", rate="+0%", pitch="+0Hz", volume="+0%")
    retries: list[str] = []
    speech = asyncio.run(engine.render(["Hello there.", "How are you?"], settings, retries.append))
    assert len(retries) == 1 and "Timeout" in retries[0], retries
    assert speech.duration > 1.0 and len(speech.sentences) == 2


# ---------------------------------------------------------------- the retry budget (issue 11)

SETTINGS = EdgeSettings("en-US-GuyNeural", rate="+0%", pitch="+0Hz", volume="+0%")


class FastClock:
    """Time that jumps over every back-off wait: the production policy (three minutes,
    waits from 1 s to 30 s) runs in milliseconds, with the real client and server."""

    def __init__(self) -> None:
        import time

        self.skipped = 0.0
        self.waits: list[float] = []
        self._now = time.monotonic

    def __call__(self) -> float:
        return self._now() + self.skipped

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.waits.append(seconds)
        self.skipped += seconds
        await asyncio.sleep(0)


def fast_policy(clock: FastClock, **fields: float):
    from duopod.speech.engines.edge import RetryPolicy

    return RetryPolicy(clock=clock, sleep=clock.sleep, **fields)


def test_an_outage_longer_than_the_old_budget_is_ridden_out(server: EdgeServer,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """Seven refused connections in a row: about a minute of the production back-off
    (five attempts used to give up after at most 7.5 s of waiting)."""
    import asyncio

    from duopod.speech.engines.edge import EdgeEngine

    monkeypatch.setattr("duopod.speech.engines.edge.BASE_DELAY", 1.0)  # the real schedule
    server.knobs.handshake_503 = 7
    clock = FastClock()
    engine = EdgeEngine(retry=fast_policy(clock))
    notes: list[str] = []
    speech = asyncio.run(engine.render("Hello there. How are you?", SETTINGS, notes.append))
    assert speech.duration > 1.0 and len(notes) == 7
    assert sum(clock.waits) > 30.0  # far beyond 7.5 s
    assert all(b > a for a, b in zip(clock.waits[:5], clock.waits[1:6], strict=True))
    assert max(clock.waits) <= 30.0
    assert re.fullmatch(r"retrying in \d+\.\d s \(attempt 2, 0\.0 s of 180 s used\): "
                        r"service answered HTTP 503", notes[0]), notes[0]
    assert re.match(r"retrying in \d+\.\d s \(attempt 8, \d+ s of 180 s used\)", notes[-1])


def test_an_outage_longer_than_the_budget_fails_naming_it(server: EdgeServer) -> None:
    import asyncio

    from duopod.speech.engines.edge import EdgeEngine

    server.knobs.handshake_503 = 10_000
    clock = FastClock()
    engine = EdgeEngine(retry=fast_policy(clock, budget=60.0, base_delay=1.0, max_delay=30.0))
    with pytest.raises(DuopodError, match=r"gave up after (\d+) attempts in 60 s "
                                          r"\(--retry-for 60 s\): service answered HTTP 503"
                       ) as caught:
        asyncio.run(engine.render("Hello.", SETTINGS))
    assert 59.9 <= sum(clock.waits) <= 60.5  # the last wait ends at the budget
    attempts = int(re.search(r"after (\d+) attempts", str(caught.value)).group(1))
    assert attempts == len(clock.waits) + 1 and 5 <= attempts <= 10


def test_the_back_off_schedule() -> None:
    from duopod.speech.engines.edge import RetryPolicy

    policy = RetryPolicy(budget=100.0, base_delay=1.0, max_delay=8.0)
    for retry, (low, high) in enumerate([(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8), (4, 8)]):
        for _ in range(50):
            assert low <= policy.delay(retry, used=0.0) <= high
    assert policy.delay(3, used=99.0) <= 1.0  # cut to end at the budget
    assert policy.delay(0, used=100.0) is None and RetryPolicy(budget=0).delay(0, 0.0) is None
    assert policy.delay(10_000, used=0.0) <= 8.0  # no overflow after days of retrying


def test_retry_for_is_a_build_option(show: Path) -> None:
    from conftest import run_cli

    result = run_cli(show, "build", "--help")
    assert "--retry-for" in result.stdout and "--retries" not in result.stdout
    result = run_cli(show, "build", "scripts/2025-12-12-open-weights.md", "--retry-for", "-1")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_slow_drip_service_meets_the_request_deadline(server: EdgeServer) -> None:
    """Issue 28: a message every few seconds reset the per-message time-out forever; each
    request now has a total deadline too."""
    import asyncio
    import time

    from duopod.errors import DuopodError
    from duopod.speech.engines.edge import EdgeEngine, RetryPolicy

    server.knobs.speed = 0.2  # 5x slower than real time, but never silent for a second
    engine = EdgeEngine(retry=RetryPolicy(budget=1, base_delay=0.01), receive_timeout=5,
                        request_deadline=1)
    started = time.monotonic()
    with pytest.raises(DuopodError, match="in all"):
        asyncio.run(engine.render(["Hello there."], SETTINGS))
    assert time.monotonic() - started < 10
