"""The openai engine against a local server that speaks the OpenAI speech API."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import MANDARIN, REPO, decode_mp3, run_cli
from openai_server import RATE, Knobs, OpenAIServer
from test_mix import onset, sentences_heard_alone

from duopod.audio.decode import SAMPLE_RATE
from duopod.build import BuildOptions, build_episode, load_script, make_engine, render
from duopod.errors import DuopodError, InputError
from duopod.show.workspace import VoiceProfile, load_workspace
from duopod.speech.engines import EngineOptions, get_engine, registry
from duopod.speech.engines.openai import (
    RetryPolicy,
    decode_wav,
    redact,
    retry_after,
    unavailable,
)
from duopod.speech.model import RenderedTurn
from duopod.speech.render import TurnEvent

SECRET = "sk-test-DO-NOT-LEAK-4f9c2a71b3e8"
SHORT = "short.md"
SENTENCES = 7  # in SHORT


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    stand_in = OpenAIServer(Knobs(api_key=SECRET)).start()
    monkeypatch.setenv("OPENAI_BASE_URL", stand_in.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("OPENAI_TTS_MODEL", raising=False)
    monkeypatch.setattr("duopod.speech.engines.openai.BASE_DELAY", 0.01)
    yield stand_in
    stand_in.stop()


@pytest.fixture
def short(show: Path) -> Path:
    (show / "scripts" / SHORT).write_text(
        "---\ntitle: 短的一期\ndate: 2025-12-20\nhosts: [雷总, 董小姐]\n---\n"
        "雷总\n大家好。今天聊H20。\n董小姐\n好的。H200更强！对吧？\n"
        "雷总\n对。\n董小姐\n再见……\n", encoding="utf-8")
    return show


def build(show: Path, script: str, events: list[TurnEvent] | None = None, **options):
    opts = BuildOptions(engine="openai", **options)
    return build_episode(load_workspace(show), show / "scripts" / script, opts,
                         progress=events.append if events is not None else None)


def speak(show: Path, script: str, events: list[TurnEvent] | None = None, **options
          ) -> list[RenderedTurn]:
    """Only the speech stage (no mix, no publishing): what most tests here are about."""
    opts = BuildOptions(engine="openai", **options)
    ws = load_workspace(show)
    parsed = load_script(ws, show / "scripts" / script, opts)
    return render(ws, parsed, make_engine("openai", opts), opts,
                  events.append if events is not None else None)


def said(server: OpenAIServer) -> list[str]:
    return [r.payload["input"] for r in server.requests if r.status == 200]


# ---------------------------------------------------------------- requests and timings


def test_one_request_per_sentence_with_the_profiles_settings(short: Path, server: OpenAIServer
                                                             ) -> None:
    result = build(short, SHORT)
    assert sorted(said(server)) == sorted(
        ["大家好。", "今天聊H20。", "好的。", "H200更强！", "对吧？", "对。", "再见……"])
    voices = {r.payload["input"]: r.payload["voice"] for r in server.requests}
    assert voices["大家好。"] == "onyx" and voices["好的。"] == "nova"
    first = server.requests[0].payload
    assert (first["model"], first["response_format"], first["speed"]) == ("tts-1", "wav", 1.0)
    assert all(r.authorization == f"Bearer {SECRET}" for r in server.requests)
    turns = result.record.to_dict()["timeline"]["turns"]
    assert [len(t["sentences"]) for t in turns] == [2, 3, 1, 1]
    assert result.record.engine == "openai" and result.rendered == 4


@pytest.mark.slow
def test_sentence_timings_land_on_the_published_audio(show: Path, server: OpenAIServer) -> None:
    result = build(show, MANDARIN)
    record = result.record.to_dict()
    samples = decode_mp3(result.directory / record["audio"]["file"])
    sentences = [s for t in record["timeline"]["turns"] for s in t["sentences"]]
    assert len(sentences) == len(server.requests) > len(result.script.turns)
    alone = sentences_heard_alone(record["timeline"]["turns"])
    assert len(alone) >= len(sentences) - 6  # all but the cut-in and the backchannels
    for sentence in alone:
        assert abs(onset(samples, sentence["start"]) - sentence["start"]) < 0.05, sentence


def test_the_engine_hears_the_lexicon_and_the_page_keeps_the_script(
        short: Path, server: OpenAIServer) -> None:
    shutil.copy(REPO / "lexicon.toml", short / "lexicon.toml")
    script = short / "scripts" / SHORT
    script.write_text(script.read_text(encoding="utf-8").replace("今天聊H20。", "今天聊H20和671B。"),
                      encoding="utf-8")
    rendered = speak(short, SHORT)
    assert "今天聊H二十和671B。" in said(server)  # 671B has an espeak-only entry
    assert "H两百更强！" in said(server)
    assert [s.text for s in rendered[0].speech.sentences] == ["大家好。", "今天聊H20和671B。"]


def test_concurrency_is_bounded_across_the_build(short: Path, server: OpenAIServer) -> None:
    server.knobs.latency = 0.2
    speak(short, SHORT, concurrency=3)
    assert server.max_in_flight == 3


def test_one_request_at_a_time_with_concurrency_1(short: Path, server: OpenAIServer) -> None:
    server.knobs.latency = 0.05
    speak(short, SHORT, concurrency=1)
    assert server.max_in_flight == 1


# ---------------------------------------------------------------- faults


def test_429_waits_as_long_as_retry_after_says(short: Path, server: OpenAIServer) -> None:
    server.knobs.rate_limit = 1
    server.knobs.retry_after = "0.6"
    events: list[TurnEvent] = []
    rendered = speak(short, SHORT, events=events, concurrency=1)
    throttled, retried = server.requests[0], server.requests[1]
    assert throttled.status == 429 and retried.status == 200
    assert retried.at - throttled.at >= 0.6
    (retry,) = [e for e in events if e.status == "retrying"]
    assert "HTTP 429" in retry.detail and "Rate limit" in retry.detail
    # turns start longest first: the throttled request is the longest turn's first sentence
    assert retry.turn.text == "好的。H200更强！对吧？"
    assert "127.0.0.1" in retry.detail and "sentence 1 of 3" in retry.detail
    assert not any(r.cached for r in rendered)


def test_a_retry_after_beyond_the_budget_stops_at_once(short: Path, server: OpenAIServer
                                                        ) -> None:
    server.knobs.rate_limit = 1
    server.knobs.retry_after = "100"
    started = time.monotonic()
    with pytest.raises(DuopodError, match=r"gave up after 1 attempts .*HTTP 429"):
        speak(short, SHORT, concurrency=1, retry_for=5)
    assert time.monotonic() - started < 5


def test_backoff_grows_and_stops_at_the_budget() -> None:
    policy = RetryPolicy(budget=60, base_delay=0.5, max_delay=30)
    assert 0.25 <= (policy.delay(0, 0) or 0) <= 0.5
    assert 15 <= (policy.delay(10, 0) or 0) <= 30
    assert policy.delay(10, 55) == pytest.approx(5, abs=5) and policy.delay(3, 60) is None
    assert 2 <= (policy.delay(0, 0, retry_after=2) or 0) <= 2.2
    assert policy.delay(0, 50, retry_after=20) is None


def test_retry_after_as_a_date_and_a_number() -> None:
    assert retry_after("2.5") == 2.5 and retry_after(None) is None and retry_after("soon") is None
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < (retry_after(later) or 0) <= 30


@pytest.mark.parametrize("fault", ["fail_503", "stall", "truncate"])
def test_transient_faults_are_retried(short: Path, server: OpenAIServer,
                                      monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    monkeypatch.setattr("duopod.speech.engines.openai.READ_TIMEOUT", 0.5)
    server.knobs.stall_seconds = 2
    setattr(server.knobs, fault, 2)
    events: list[TurnEvent] = []
    rendered = speak(short, SHORT, events=events, concurrency=1)
    assert sum(e.status == "retrying" for e in events) == 2
    assert sorted(said(server)) == sorted(set(said(server)))  # each sentence heard once in the end
    assert len(said(server)) == SENTENCES and len(rendered) == 4


def test_a_server_that_keeps_failing_names_host_and_turn(short: Path, server: OpenAIServer
                                                          ) -> None:
    server.knobs.fail_503 = 100
    with pytest.raises(DuopodError) as caught:
        speak(short, SHORT, concurrency=1, retry_for=0.5)
    message = str(caught.value)
    assert f"scripts/{SHORT}:8: turn 2 (董小姐)" in message  # the longest turn starts first
    assert f"127.0.0.1:{server.port}" in message and "gave up after" in message and "(--retry-for 0.5 s)" in message
    assert "HTTP 503" in message and "overloaded" in message
    assert not (short / "episodes" / "feed.xml").exists()


@pytest.mark.parametrize(("status", "setup", "expected"), [
    (401, lambda s, m: m.setenv("OPENAI_API_KEY", "sk-wrong-key-0123456789"), "check the API key"),
    (400, lambda s, m: None, "Input should be"),
])
def test_refusals_fail_at_once_and_never_show_the_key(
        short: Path, server: OpenAIServer, monkeypatch: pytest.MonkeyPatch,
        status: int, setup, expected: str) -> None:
    setup(server, monkeypatch)
    if status == 400:
        profile = short / "voices" / "lei.toml"
        profile.write_text(profile.read_text(encoding="utf-8").replace('"onyx"', '"nobody"'),
                           encoding="utf-8")
    with pytest.raises(DuopodError) as caught:
        speak(short, SHORT, concurrency=1)
    assert f"HTTP {status}" in str(caught.value) and expected in str(caught.value)
    refused = [r for r in server.requests if r.status == status]
    assert len(refused) == 1  # no retries, and nothing more asked of the refusing voice
    assert SECRET not in str(caught.value) and "sk-wrong-key" not in str(caught.value)


@pytest.mark.slow
def test_the_key_is_never_written_anywhere(short: Path, server: OpenAIServer,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.knobs.rate_limit = 1
    events: list[TurnEvent] = []
    build(short, SHORT, events=events)
    cli = run_cli(short, "build", f"scripts/{SHORT}", "--engine", "openai", "--no-cache")
    assert cli.returncode == 0, cli.stderr
    for text in (caplog.text, cli.stdout, cli.stderr, *(e.detail for e in events)):
        assert SECRET not in text
    for path in short.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_the_key_is_not_in_the_cache_key(short: Path, server: OpenAIServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    speak(short, SHORT)
    other = "sk-another-key-but-same-voice"
    server.knobs.api_key = other
    monkeypatch.setenv("OPENAI_API_KEY", other)
    assert all(r.cached for r in speak(short, SHORT))  # a new key is not new audio


def test_redaction_catches_echoed_keys() -> None:
    assert redact(f"Incorrect API key provided: {SECRET}.", [SECRET]) == \
        "Incorrect API key provided: ***."
    assert "sk-abc" not in redact("Incorrect API key provided: sk-abc*****wxyz.", [])


# ---------------------------------------------------------------- settings and formats


def profile(**table) -> VoiceProfile:
    return VoiceProfile("lei", "雷总", Path("voices/lei.toml"), {"openai": table})


def test_settings_need_a_voice_and_refuse_keys_in_profiles(server: OpenAIServer) -> None:
    engine = get_engine("openai")
    with pytest.raises(InputError, match="has no \\[openai\\] voice"):
        engine.settings_for(profile())
    with pytest.raises(InputError, match="keys do not belong") as caught:
        engine.settings_for(profile(voice="onyx", api_key=SECRET))
    assert SECRET not in str(caught.value)
    with pytest.raises(InputError, match="speed"):
        engine.settings_for(profile(voice="onyx", speed=9))
    with pytest.raises(InputError, match="response_format"):
        engine.settings_for(profile(voice="onyx", response_format="opus"))
    with pytest.raises(InputError, match="unknown openai setting 'pitch'"):
        engine.settings_for(profile(voice="onyx", pitch=3))
    settings = engine.settings_for(profile(voice="onyx", base_url="http://box:8880/v1/"))
    assert settings.base_url == "http://box:8880/v1"
    assert SECRET not in json.dumps(settings.cache_fields())


def test_openai_itself_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    engine = get_engine("openai")
    lei = profile(voice="onyx")
    settings = engine.settings_for(lei)  # checking a profile needs no key ('duopod check')
    with pytest.raises(InputError, match=r"needs an API key for api\.openai\.com: set OPENAI_API_KEY"):
        asyncio.run(engine.check_voices({"雷总": (lei, settings)}))
    local = profile(voice="zf_xiaobei", base_url="http://127.0.0.1:8880/v1")
    asyncio.run(engine.check_voices({"雷总": (local, engine.settings_for(local))}))  # no key needed


def test_unavailable_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert "OPENAI_API_KEY" in (unavailable() or "") and "OPENAI_BASE_URL" in (unavailable() or "")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert unavailable() == "127.0.0.1:9 is not reachable"
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    assert unavailable() == "OPENAI_API_KEY is not set"
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert unavailable() is None  # OpenAI itself, with a key: no probe (offline tests)
    assert registry()["openai"].auto_rank is None  # explicit only


@pytest.mark.parametrize("response_format", ["wav", "pcm", "mp3"])
def test_every_format_decodes_to_the_same_speech(server: OpenAIServer, response_format: str
                                                 ) -> None:
    engine = get_engine("openai", EngineOptions(concurrency=2))
    settings = engine.settings_for(profile(voice="onyx", response_format=response_format))
    speech = asyncio.run(engine.render(["你好。", "……", "再见。"], settings))
    assert [s.text for s in speech.sentences] == ["你好。", "……", "再见。"]
    first, empty, last = speech.sentences
    assert empty.start == empty.end == first.end  # nothing to say: no request, an empty span
    assert last.start >= first.end + 0.29 and abs(last.end - speech.duration) < 0.001
    assert len(server.requests) == 2
    reference = server._samples("onyx", "你好。")  # trimmed, at SAMPLE_RATE, within a frame
    assert abs(first.end - first.start - len(reference) / RATE + 0.3) < 0.06


def test_streaming_wav_headers_and_float_wavs() -> None:
    from openai_server import _streaming_wav_header

    tone = (np.sin(np.arange(2400) / 5) * 0.5).astype(np.float32)
    pcm = (tone * 32767).astype("<i2").tobytes()
    samples, rate = decode_wav(_streaming_wav_header() + pcm)
    assert rate == RATE and np.allclose(samples, tone, atol=1e-3)
    header = bytearray(_streaming_wav_header())
    header[20:22] = (3).to_bytes(2, "little")
    header[34:36] = (32).to_bytes(2, "little")
    samples, _ = decode_wav(bytes(header) + tone.astype("<f4").tobytes())
    assert np.array_equal(samples, tone)
    with pytest.raises(ValueError):
        decode_wav(b"ID3 not a wav")
    assert SAMPLE_RATE != RATE  # answers are resampled for the mix
