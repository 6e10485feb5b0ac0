"""The openai engine against a hostile server: every answer is bounded (body, duration,
sample rate), each request has a total deadline, Retry-After is clamped, redirects are
refused and credentials never come back in a message (issue 28, items 2, 3, 9, 11, 15)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from aiohttp import web
from loopback import LoopbackApp

from duopod.errors import DuopodError
from duopod.speech.engines import EngineOptions
from duopod.speech.engines.openai import (
    OpenAIEngine,
    RetryPolicy,
    decode_wav,
    plausible_seconds,
    redact_url,
)
from duopod.speech.engines.openai_settings import OpenAISettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Hostile(LoopbackApp):
    handler: Handler | None = None
    hits: list[str] = field(default_factory=list)
    port: int = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._any)

    async def _any(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(f"{request.method} {request.path}")
        assert self.handler is not None
        return await self.handler(request)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hostile]:
    server = Hostile().start()
    monkeypatch.setattr("duopod.speech.engines.openai.BASE_DELAY", 0.01)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield server
    server.stop()


def wav_header(rate: int, channels: int = 1, bits: int = 16) -> bytes:
    block = channels * bits // 8
    fmt = (b"fmt " + (16).to_bytes(4, "little") + (1).to_bytes(2, "little")
           + channels.to_bytes(2, "little") + rate.to_bytes(4, "little")
           + (rate * block & 0xFFFFFFFF).to_bytes(4, "little") + block.to_bytes(2, "little")
           + bits.to_bytes(2, "little"))
    return b"RIFF" + b"\xff\xff\xff\xff" + b"WAVE" + fmt + b"data" + b"\xff\xff\xff\xff"


def speak(base_url: str, text: str = "你好。", retry_for: float = 5.0) -> np.ndarray:
    engine = OpenAIEngine(EngineOptions(retry_for=retry_for, concurrency=1))
    settings = OpenAISettings("onyx", model="tts-1", base_url=base_url, response_format="wav",
                              speed=1.0, api_key_env="OPENAI_API_KEY")
    speech = asyncio.run(engine.render([text], settings))
    return np.asarray(speech.samples)


# ---------------------------------------------------------------- item 9: WAV headers


@pytest.mark.parametrize("rate", [0, 1, 0x7FFFFFFF])
def test_a_wav_with_an_absurd_rate_is_refused_as_data(rate: int) -> None:
    with pytest.raises(ValueError, match="sample rate"):
        decode_wav(wav_header(rate) + b"\x00\x10" * 2400)


def test_a_wav_with_no_channels_is_refused_as_data() -> None:
    with pytest.raises(ValueError, match="channels"):
        decode_wav(wav_header(24_000, channels=0) + b"\x00\x10" * 2400)


# ---------------------------------------------------------------- item 2: answer bounds


def test_a_1_hz_wav_does_not_become_a_day_of_audio(hostile: Hostile) -> None:
    async def one_hertz(request: web.Request) -> web.Response:
        tone = (np.sin(np.arange(24_000) / 3) * 8000).astype("<i2").tobytes()
        return web.Response(body=wav_header(1) + tone, content_type="audio/wav")

    hostile.handler = one_hertz
    started = time.monotonic()
    with pytest.raises(DuopodError, match="sample rate"):
        speak(hostile.base_url, retry_for=1)
    assert time.monotonic() - started < 10


def test_speech_far_longer_than_its_text_is_refused(hostile: Hostile) -> None:
    async def long_answer(request: web.Request) -> web.Response:
        seconds = int(plausible_seconds("你好。")) + 30
        tone = (np.sin(np.arange(24_000 * seconds) / 3) * 8000).astype("<i2").tobytes()
        return web.Response(body=wav_header(24_000) + tone, content_type="audio/wav")

    hostile.handler = long_answer
    with pytest.raises(DuopodError, match="longer than"):
        speak(hostile.base_url, retry_for=1)


def test_an_endless_body_is_cut_off_at_the_bound(hostile: Hostile) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        await response.prepare(request)
        await response.write(wav_header(24_000))
        chunk = b"\x00\x10" * 32_768
        try:
            for _ in range(100_000):  # 6.5 GB if nobody stops reading
                await response.write(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return response

    hostile.handler = endless
    with pytest.raises(DuopodError, match="larger than"):
        speak(hostile.base_url, retry_for=1)


# ---------------------------------------------------------------- item 3: total deadline


def test_a_slow_drip_server_ends_within_the_budget_plus_one_deadline(hostile: Hostile) -> None:
    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        await response.prepare(request)
        try:
            for _ in range(10_000):
                await response.write(b"R")
                await asyncio.sleep(0.5)
        except (ConnectionError, RuntimeError):
            pass
        return response

    hostile.handler = drip
    started = time.monotonic()
    with pytest.raises(DuopodError, match="gave up"):
        speak(hostile.base_url, retry_for=2)
    assert time.monotonic() - started < 2 + 10 + 3


# ---------------------------------------------------------------- item 11: Retry-After


def test_retry_after_is_clamped_to_one_second_and_the_budget() -> None:
    policy = RetryPolicy(budget=180)
    assert (policy.delay(0, 0, retry_after=0) or 0) >= 1
    assert (policy.delay(0, 0, retry_after=-5) or 0) >= 1
    assert policy.delay(0, 0, retry_after=99999) is None  # past the budget: stop at once
    assert policy.delay(0, 0, retry_after=150) is not None  # within it: honoured


def test_retry_after_zero_does_not_hammer_the_server(hostile: Hostile) -> None:
    async def throttled(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "slow down"}}, status=429,
                                 headers={"Retry-After": "0"})

    hostile.handler = throttled
    with pytest.raises(DuopodError, match="gave up"):
        speak(hostile.base_url, retry_for=2.5)
    assert len(hostile.hits) <= 4


# ---------------------------------------------------------------- item 15: redirects, secrets


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_not_followed(hostile: Hostile, status: int) -> None:
    other = Hostile().start()

    async def elsewhere(request: web.Request) -> web.Response:
        return web.Response(body=wav_header(24_000) + b"\x00\x10" * 24_000)

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": f"{other.base_url}/x"})

    other.handler = elsewhere
    hostile.handler = redirect
    try:
        with pytest.raises(DuopodError, match="redirect"):
            speak(hostile.base_url)
        assert other.hits == []
    finally:
        other.stop()


def test_credentials_in_base_url_never_come_back(hostile: Hostile) -> None:
    async def echo(request: web.Request) -> web.Response:
        said = request.headers.get("Authorization", "")
        return web.json_response({"error": {"message": f"bad header {said} for you"}},
                                 status=401)

    hostile.handler = echo
    url = hostile.base_url.replace("http://", "http://pod:hunter2secret@")
    with pytest.raises(DuopodError) as caught:
        speak(url)
    message = str(caught.value)
    encoded = base64.b64encode(b"pod:hunter2secret").decode()
    assert "hunter2secret" not in message and encoded not in message
    assert "HTTP 401" in message
    assert "hunter2" not in redact_url(url) and "127.0.0.1" in redact_url(url)
