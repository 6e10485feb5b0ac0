"""A local stand-in for an OpenAI-compatible speech server (tests and benchmarks; never part
of the product).

``POST /v1/audio/speech`` takes OpenAI's JSON (model, voice, input, response_format, speed)
and answers with real speech made by duopod's espeak engine: WAV written the way streaming
servers write it (sizes unknown, 0xFFFFFFFF), raw 24 kHz PCM, or MP3. Errors come as
OpenAI's ``{"error": {"message", "type", "code"}}``. Knobs add latency, a rate limit (429
with Retry-After), 503s, stalls and an API key check whose 401 echoes the rejected key, as
OpenAI's does, so tests can prove the client never repeats it.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import imageio_ffmpeg
import numpy as np
from aiohttp import web
from loopback import LoopbackApp

from duopod.audio.decode import SAMPLE_RATE, resample, to_pcm16
from duopod.speech.engines.espeak import EspeakEngine
from duopod.speech.engines.espeak_settings import EspeakSettings

VOICES = {"alloy": "f", "ash": "m", "ballad": "m", "coral": "f", "echo": "m", "fable": "m",
          "nova": "f", "onyx": "m", "sage": "f", "shimmer": "f", "verse": "m"}
RATE = 24_000


@dataclass
class Knobs:
    latency: float = 0.0
    """Seconds before each answer."""
    api_key: str | None = None
    """Require ``Authorization: Bearer <api_key>``; a wrong key gets 401 quoting it."""
    rate_limit: int = 0
    """The next N requests get 429 with Retry-After."""
    retry_after: str = "1"
    fail_503: int = 0
    """The next N requests get 503."""
    stall: int = 0
    """The next N requests get no answer for ``stall_seconds`` (the client must time out)."""
    stall_seconds: float = 5.0
    truncate: int = 0
    """The next N answers are cut off halfway (the connection closes mid-body)."""


@dataclass
class Request:
    payload: dict[str, Any]
    authorization: str | None
    at: float
    status: int = 0
    """The HTTP status answered; -1 for an answer cut off halfway."""


@dataclass
class OpenAIServer(LoopbackApp):
    knobs: Knobs = field(default_factory=Knobs)
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._audio: dict[tuple[str, str], np.ndarray] = {}

    # ------------------------------------------------------------ lifecycle

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/audio/speech", self._speech)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def prepare(self, voice: str, text: str) -> None:
        """Synthesise ahead of time, so a timed client measures latency, not this server."""
        self._samples(voice, text)

    # ------------------------------------------------------------ HTTP

    def _take(self, knob: str) -> bool:
        with self._lock:
            if getattr(self.knobs, knob) > 0:
                setattr(self.knobs, knob, getattr(self.knobs, knob) - 1)
                return True
        return False

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        record = Request({}, request.headers.get("Authorization"), time.monotonic())
        with self._lock:
            self.requests.append(record)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await self._answer(request, record)
            record.status = record.status or response.status
            return response
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _answer(self, request: web.Request, record: Request) -> web.StreamResponse:
        if self.knobs.latency:
            await asyncio.sleep(self.knobs.latency)
        if self.knobs.api_key is not None:
            given = (record.authorization or "").removeprefix("Bearer ")
            if given != self.knobs.api_key:
                return _error(401, f"Incorrect API key provided: {given}.", "invalid_api_key")
        if self._take("stall"):
            await asyncio.sleep(self.knobs.stall_seconds)
        if self._take("rate_limit"):
            return _error(429, "Rate limit reached for requests", "rate_limit_exceeded",
                          {"Retry-After": self.knobs.retry_after})
        if self._take("fail_503"):
            return _error(503, "The server is overloaded", "server_error")
        try:
            payload = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.")
        record.payload = payload
        problem = _invalid(payload)
        if problem:
            return _error(400, problem, "invalid_request_error")
        samples = await asyncio.to_thread(self._samples, payload["voice"], payload["input"])
        body, content_type = _encode(samples, payload.get("response_format", "mp3"))
        if self._take("truncate"):
            record.status = -1  # the client never got all of it
            return await _cut_off(request, body, content_type)
        return web.Response(body=body, content_type=content_type)

    # ------------------------------------------------------------ speech

    def _samples(self, voice: str, text: str) -> np.ndarray:
        """24 kHz speech with a little silence either side, as real servers send."""
        with self._lock:
            hit = self._audio.get((voice, text))
        if hit is not None:
            return hit
        female = VOICES.get(voice) == "f"
        cjk = any("\u4e00" <= c <= "\u9fff" for c in text)
        settings = EspeakSettings(f"{'cmn' if cjk else 'en-us'}+{'f3' if female else 'm3'}",
                                  pitch=65 if female else 35)
        speech = EspeakEngine().render_sync([text], settings)
        silence = np.zeros(int(0.15 * SAMPLE_RATE), dtype=np.float32)
        audio = resample(np.concatenate([silence, np.asarray(speech.samples), silence]),
                         SAMPLE_RATE, RATE)
        with self._lock:
            self._audio[(voice, text)] = audio
        return audio


def _invalid(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "The body must be a JSON object."
    for key in ("model", "voice", "input"):
        if not isinstance(payload.get(key), str) or not payload[key].strip():
            return f"'{key}' is a required property"
    if payload["voice"] not in VOICES:
        return f"Input should be {', '.join(repr(v) for v in VOICES)}: 'voice'"
    if payload.get("response_format", "mp3") not in ("wav", "pcm", "mp3"):
        return "Unsupported response_format"
    speed = payload.get("speed", 1.0)
    if not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
        return "speed must be between 0.25 and 4.0"
    return None


def _error(status: int, message: str, code: str | None = None,
           headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": code or "error",
                                        "param": None, "code": code}},
                             status=status, headers=headers)


def _encode(samples: np.ndarray, response_format: str) -> tuple[bytes, str]:
    pcm = to_pcm16(samples)
    if response_format == "pcm":
        return pcm, "audio/pcm"
    if response_format == "wav":
        return _streaming_wav_header() + pcm, "audio/wav"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "s16le", "-ar", str(RATE),
               "-ac", "1", "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3",
               "pipe:1"]
    return subprocess.run(command, input=pcm, capture_output=True, check=True).stdout, \
        "audio/mpeg"


def _streaming_wav_header() -> bytes:
    """A WAV header written before the length is known, as OpenAI's streaming WAV is."""
    unknown = (0xFFFFFFFF).to_bytes(4, "little")
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + RATE.to_bytes(4, "little") \
        + (RATE * 2).to_bytes(4, "little") + (2).to_bytes(2, "little") \
        + (16).to_bytes(2, "little")
    return b"RIFF" + unknown + b"WAVE" + b"fmt " + (16).to_bytes(4, "little") + fmt \
        + b"data" + unknown


async def _cut_off(request: web.Request, body: bytes, content_type: str) -> web.StreamResponse:
    """Promise the whole body, send half, and drop the connection."""
    response = web.StreamResponse(headers={"Content-Type": content_type,
                                           "Content-Length": str(len(body))})
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    request.transport.close()  # type: ignore[union-attr]
    return response
