"""Any server that speaks the OpenAI speech API: OpenAI itself, or a producer's own box
running Kokoro-FastAPI, LocalAI, openedai-speech and the like.

One ``POST {base_url}/audio/speech`` per sentence, so every sentence has exact timings
(the API returns audio only, no word or sentence marks); a turn's sentences go out
concurrently, and one semaphore bounds the requests in flight across the whole build.
Answers are asked for as WAV: it names its own sample rate (local servers differ: 24 kHz
for Kokoro, 22.05 kHz for Piper voices) and has no MP3 encoder delay to shift the timings,
and it is decoded here without an ffmpeg process per sentence.

Plain HTTP through aiohttp (already installed with edge-tts) rather than the ``openai``
client: one endpoint does not justify a client with its own retry loop, pydantic models
and a dependency tree, and keeping the request in our hands is how we guarantee the key
goes in one header and nowhere else (never into settings, cache keys, messages or logs).

Throttling (429, with its Retry-After honoured), server errors, time-outs and dropped
connections are retried with backoff and jitter; a refused request (400, 401, 403, 404,
422) fails at once, naming the host and what the server said.

The server is not trusted (docs/security.md): every answer is bounded before it is held in
memory (body bytes, then decoded seconds against what the sentence could plausibly take,
then a sample rate audio actually uses); every request has a total deadline, so a server
that drips one byte at a time cannot hold a build; a Retry-After is clamped to at least a
second and never waited past the budget; a redirect is refused (it would re-send the script
to another host, or turn the POST into a GET whose page is taken as speech); and neither
the key nor a user:password in ``base_url`` ever appears in a message. Those bounds (retry
policy, body limit, redaction) are ``duopod.http``'s, shared with the chat engine.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np

from ...audio.decode import SAMPLE_RATE, decode, resample, trim_bounds
from ...errors import DuopodError, EngineError, InputError
from ...http import (
    MIN_RETRY_AFTER,
    RETRY_STATUS,
    LoopSemaphore,
    Retryable,
    RetryPolicy,
    bounded_body,
    error_detail,
    host_of,
    redact,
    retry_after,
    url_secrets,
)
from ...show.workspace import VoiceProfile
from ...urls import redact_url
from ..model import Speech, joined_sentences
from . import EngineOptions, Voice
from .openai_settings import (
    KEY_VARIABLE,
    OpenAISettings,
    environment_base_url,
    profile_settings,
)
from .settings import EngineSettings

if TYPE_CHECKING:  # aiohttp takes a quarter of a second to import: loaded to render
    import aiohttp

PROTOCOL_VERSION = "openai-speech/1"
"""Part of every cache key: bump when how we ask or decode changes the audio."""
PCM_RATE = 24_000
"""The API documents ``pcm`` as 16-bit little-endian mono at 24 kHz."""
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
"""Seconds without a byte from the server before the request is abandoned and retried."""
REQUEST_DEADLINE = 120.0
"""Seconds one request may take in all (connect, answer, body), however the bytes drip."""
MIN_DEADLINE = 10.0
"""The least a request is given, even when ``--retry-for`` is shorter."""
MAX_BODY_BYTES = 64 * 1024 * 1024
"""No answer is read past this many bytes (about 12 minutes of 24 kHz 16-bit stereo)."""
MIN_RATE, MAX_RATE = 8_000, 192_000
"""Sample rates a speech answer may claim: telephone speech to studio masters."""
MAX_CHANNELS = 8
SECONDS_PER_CHARACTER = 1.0
SECONDS_SLACK = 20.0
"""An answer may last ``SLACK + PER_CHARACTER * len(text)`` seconds (divided by the speed):
a Chinese character takes about 0.25 s and a Latin one 0.07 s, so this only stops answers
no sentence could need (a hostile 1 Hz header makes 48 KB last six hours)."""
BASE_DELAY = 0.5
MAX_DELAY = 30.0
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage",
                 "shimmer", "verse")
_HINTS = {
    401: "check the API key (OPENAI_API_KEY, or the variable the profile's api_key_env names)",
    403: "the key may not use this model or voice",
    404: "is base_url right? it usually ends in /v1",
}


def deadline_for(budget: float) -> float:
    """One request's total deadline: within the retry budget (so ``--retry-for 5`` ends in
    about 5 s plus one deadline), never under MIN_DEADLINE, never over REQUEST_DEADLINE."""
    return max(MIN_DEADLINE, min(REQUEST_DEADLINE, budget))


def plausible_seconds(text: str, speed: float = 1.0) -> float:
    """The longest a server's speech for ``text`` may last before it is taken as garbage."""
    return (SECONDS_SLACK + SECONDS_PER_CHARACTER * len(text)) / max(0.25, speed)


# ---------------------------------------------------------------- configuration


def needs_key(base_url: str) -> bool:
    """OpenAI itself always needs a key; a local server usually does not."""
    return (urlparse(base_url).hostname or "").endswith("openai.com")


# ---------------------------------------------------------------- decoding


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate from a WAV answer. Streaming servers write the
    header before they know the length (sizes 0 or 0xFFFFFFFF): the data then runs to the
    end of the body."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    position, layout = 12, None
    while position + 8 <= len(data):
        chunk, size = data[position:position + 4], int.from_bytes(data[position + 4:position + 8],
                                                                  "little")
        start = position + 8
        if chunk == b"fmt ":
            layout = _wav_layout(data[start:start + size])
        elif chunk == b"data":
            if layout is None:
                raise ValueError("WAV data before its format")
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), start + size)
            return _wav_samples(data[start:end], *layout)
        position = start + size + (size & 1)
    raise ValueError("WAV without data")


def _wav_layout(fmt: bytes) -> tuple[int, int, int, int]:
    """(format tag, channels, rate, bits); WAVE_FORMAT_EXTENSIBLE resolved to its subformat."""
    if len(fmt) < 16:
        raise ValueError("WAV format chunk too short")
    tag, channels, rate = (int.from_bytes(fmt[0:2], "little"), int.from_bytes(fmt[2:4], "little"),
                           int.from_bytes(fmt[4:8], "little"))
    bits = int.from_bytes(fmt[14:16], "little")
    if tag == 0xFFFE and len(fmt) >= 26:
        tag = int.from_bytes(fmt[24:26], "little")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"WAV sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    if not 1 <= channels <= MAX_CHANNELS:
        raise ValueError(f"WAV with {channels} channels (1 to {MAX_CHANNELS} are read)")
    return tag, channels, rate, bits


def _wav_samples(body: bytes, tag: int, channels: int, rate: int, bits: int
                 ) -> tuple[np.ndarray, int]:
    if tag == 1 and bits == 16:
        raw = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype(np.float32) / 32768
    elif tag == 3 and bits == 32:
        raw = np.frombuffer(body[: len(body) // 4 * 4], dtype="<f4").astype(np.float32)
    else:
        raise ValueError(f"WAV encoding {tag}/{bits}-bit is not supported (16-bit PCM or "
                         "32-bit float)")
    if channels > 1:
        raw = raw[: len(raw) // channels * channels].reshape(-1, channels).mean(axis=1)
    return raw, rate


def decode_answer(data: bytes, response_format: str) -> np.ndarray:
    """The server's audio as mono float32 at SAMPLE_RATE."""
    if response_format == "wav":
        samples, rate = decode_wav(data)
    elif response_format == "pcm":
        samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32)
        samples, rate = samples / 32768, PCM_RATE
    else:
        return decode(data, response_format)
    return resample(samples, rate)


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _decoded(data: bytes, response_format: str, longest: float) -> np.ndarray:
    """The answer's speech, trimmed; a garbled answer is worth asking for again, speech far
    longer than its text (``longest`` seconds) is not kept."""
    try:
        audio = decode_answer(data, response_format)
    except (ValueError, DuopodError) as exc:
        raise Retryable(f"undecodable {response_format} answer: {exc}") from exc
    if len(audio) > longest * SAMPLE_RATE:
        raise Retryable(f"an answer of {len(audio) / SAMPLE_RATE:.0f} s is longer than the "
                         f"sentence could take ({longest:.0f} s)")
    return _trim(audio)


def _trim(audio: np.ndarray) -> np.ndarray:
    """Servers pad each answer with silence; the mix sets its own pauses."""
    start, stop = trim_bounds(audio, pad_seconds=0.02)
    return audio[start:stop]


# ---------------------------------------------------------------- the engine


class OpenAIEngine:
    name = "openai"

    def __init__(self, options: EngineOptions | None = None, retry: RetryPolicy | None = None):
        options = options or EngineOptions()
        self.retry = retry or RetryPolicy(budget=options.retry_for, base_delay=BASE_DELAY,
                                          max_delay=MAX_DELAY)
        self.concurrency = options.concurrency
        self._gate = LoopSemaphore(options.concurrency)
        self._not_before = 0.0
        """Monotonic time before which no request goes out: a server's Retry-After speaks
        for the whole account, not only for the request it refused."""
        self._refusal: EngineError | None = None
        """Set by the first refused request: the build is stopping, so nothing else is sent
        (sentences already queued would only be refused too)."""

    @property
    def version(self) -> str:
        return PROTOCOL_VERSION

    def settings_for(self, profile: VoiceProfile) -> OpenAISettings:
        return profile_settings(profile)

    async def check_voices(self, voices: dict[str, tuple[VoiceProfile, EngineSettings]]
                           ) -> None:
        """Before any request: OpenAI itself needs a key. (Not in ``settings_for``, which
        ``duopod check`` runs for every profile table even when this engine is not used.)
        The API has no voice list; a voice the server does not have is refused (HTTP 400)
        by the first request, which fails the build at once."""
        for host, (profile, settings) in voices.items():
            openai = OpenAISettings.of(settings)
            if needs_key(openai.base_url) and not os.environ.get(openai.api_key_env):
                raise InputError(
                    f"the openai engine needs an API key for {host_of(openai.base_url)}: "
                    f"set {openai.api_key_env} (host {host!r}, profile {profile.name!r}),"
                    " or point base_url / OPENAI_BASE_URL at a local server", profile.path,
                    profile.setting_line("openai", "base_url"),
                )

    def _semaphore(self) -> asyncio.Semaphore:
        """One bound for the whole build, remade if the build runs a new event loop."""
        return self._gate.get()

    async def render(self, sentences: Sequence[str], settings: EngineSettings,
                     notify: Callable[[str], None] | None = None) -> Speech:
        """Every sentence is its own request, all sent at once within the build's bound; the
        answers are trimmed and joined with a short pause, each timed exactly."""
        import aiohttp

        openai = OpenAISettings.of(settings)
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT,
                                        sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            tasks = [asyncio.create_task(self._sentence(session, i, len(sentences), text,
                                                        openai, notify))
                     for i, text in enumerate(sentences)]
            try:
                pieces = await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        return joined_sentences(sentences, pieces, "the server")

    async def _sentence(self, session: aiohttp.ClientSession, index: int, count: int, text: str,
                        settings: OpenAISettings, notify: Callable[[str], None] | None
                        ) -> np.ndarray:
        if not any(c.isalnum() for c in text):  # a lone symbol: nothing to say
            return np.zeros(0, dtype=np.float32)
        where = f"{host_of(settings.base_url)}, sentence {index + 1} of {count}"
        secret = os.environ.get(settings.api_key_env, "")
        secrets = [secret, *url_secrets(settings.base_url)]
        first_failure: float | None = None
        retry = 0
        while True:
            try:
                async with self._semaphore():
                    await self._hold_off()
                    if self._refusal is not None:
                        raise EngineError(str(self._refusal))
                    data = await self._request(session, text, settings, secret,
                                               self._deadline(first_failure))
                return _decoded(data, settings.response_format,
                                plausible_seconds(text, settings.speed))
            except Retryable as failure:
                now = time.monotonic()
                first_failure = now if first_failure is None else first_failure
                used = now - first_failure
                wait = self.retry.delay(retry, used, failure.retry_after)
                if wait is None:
                    raise EngineError(redact(
                        f"{where}: gave up after {retry + 1} attempts in {_seconds(used)} "
                        f"(--retry-for {_seconds(self.retry.budget)}): {failure}", secrets,
                    )) from None
                retry += 1
                if failure.retry_after is not None:  # the account is throttled, not this call
                    self._not_before = max(self._not_before, now + wait)
                if notify:
                    notify(redact(f"{where}: retrying in {wait:.1f} s (attempt {retry + 1}, "
                                  f"{_seconds(used)} of {_seconds(self.retry.budget)} used): "
                                  f"{failure}", secrets))
            await asyncio.sleep(wait)

    def _deadline(self, first_failure: float | None) -> float:
        """The first attempt gets a whole deadline; a retry only what is left of the budget
        (at least a second), so a build ends within the budget plus one deadline."""
        deadline = deadline_for(self.retry.budget)
        if first_failure is None:
            return deadline
        left = self.retry.budget - (time.monotonic() - first_failure)
        return max(MIN_RETRY_AFTER, min(deadline, left))

    async def _hold_off(self) -> None:
        while (wait := self._not_before - time.monotonic()) > 0:
            await asyncio.sleep(wait)

    async def _request(self, session: aiohttp.ClientSession, text: str,
                       settings: OpenAISettings, secret: str, deadline: float) -> bytes:
        import aiohttp

        payload: dict[str, str | float] = {
            "model": settings.model, "voice": settings.voice, "input": text,
            "response_format": settings.response_format, "speed": settings.speed}
        if settings.instructions is not None:
            payload["instructions"] = settings.instructions
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        url = f"{settings.base_url}/audio/speech"
        secrets = [secret, *url_secrets(settings.base_url)]
        try:
            async with asyncio.timeout(deadline), session.post(
                    url, json=payload, headers=headers, allow_redirects=False) as response:
                if response.status == 200:
                    data = await bounded_body(response, MAX_BODY_BYTES)
                    if not data:
                        raise Retryable("the server answered with no audio")
                    return data
                detail = await error_detail(response)
                detail = f": {detail}" if detail else ""
                if response.status in RETRY_STATUS:
                    raise Retryable(f"HTTP {response.status}{detail}",
                                     retry_after(response.headers.get("Retry-After")))
        except TimeoutError as exc:
            raise Retryable(f"no complete answer within {deadline:g} s") from exc
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise Retryable(f"connection problem: {exc.__class__.__name__}") from exc
        hint = _HINTS.get(response.status, "")
        if 300 <= response.status < 400:
            where = redact_url(response.headers.get("Location", "elsewhere"))[:200]
            detail, hint = "", (f"it redirects to {where}; a redirect is never followed "
                                "(set base_url to the server's own address)")
        self._refusal = EngineError(redact(
            f"{host_of(settings.base_url)} refused the request (HTTP {response.status}"
            f"{detail}){'; ' + hint if hint else ''}", secrets))
        raise self._refusal


# ---------------------------------------------------------------- the registry's hooks


def make_engine(options: EngineOptions) -> OpenAIEngine:
    return OpenAIEngine(options)


def unavailable() -> str | None:
    """Why the engine cannot run from the environment alone (profiles may still name a
    base_url of their own)."""
    base_url = environment_base_url()
    if base_url is None:
        if os.environ.get(KEY_VARIABLE):
            return None
        return (f"neither {KEY_VARIABLE} nor OPENAI_BASE_URL is set (or give the profiles' "
                "openai tables a base_url)")
    if needs_key(base_url) and not os.environ.get(KEY_VARIABLE):
        return f"{KEY_VARIABLE} is not set"
    return None if _reachable(base_url) else f"{host_of(base_url)} is not reachable"


def _reachable(base_url: str, timeout: float = 2.0) -> bool:
    url = urlparse(base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def voice_list(language: str | None = None) -> list[Voice]:
    """OpenAI's voices (each speaks every language the model does). A local server has its
    own names (Kokoro-FastAPI: zm_yunxi, zf_xiaobei, ...): see its documentation."""
    return [Voice(name, "multilingual", description="OpenAI voice") for name in OPENAI_VOICES]
