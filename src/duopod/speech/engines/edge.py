"""The production engine: Microsoft's neural voices through the real ``edge_tts`` client.

edge-tts does not split text without spaces, so long Chinese turns are split here at
sentence ends (then clauses) into requests well under the service's limit. The requests
run side by side, each on a connection slot of the render's (``speech.slots``); each
request's audio is decoded and the pieces are joined in order, and the service's
SentenceBoundary events (100 ns ticks) become the sentence timings. Dropped connections,
time-outs, throttling and empty answers are retried with exponential backoff and jitter
for a duration (default three minutes), so an outage of a minute does not end a long build.
"""

from __future__ import annotations

import asyncio
import functools
import random
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from typing import Any, TypeVar
from urllib.parse import urlparse

import numpy as np

from ...audio.decode import SAMPLE_RATE, decode
from ...errors import EngineError, InputError
from ...show.workspace import VoiceProfile
from ...text import join_text, pack, split_clauses, split_sentences
from ..model import SentenceSpan, Speech, spans_by_characters
from ..slots import Slots, shared_or_own
from . import EngineOptions, Notify, Voice
from .edge_settings import EdgeSettings, profile_settings
from .settings import EngineSettings

REQUEST_BYTES = 1200
"""Bytes of text per request; the client's own limit is 4096 bytes of escaped text."""
TICKS_PER_SECOND = 10_000_000
STREAM_DELAY = 1105 / 24_000
"""Seconds by which decoded audio lags the service's boundary offsets: the stream carries
no gapless header, so the MP3 encoder's (576) and decoder's (529) delays stay in it."""
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}


RETRY_FOR = 180.0
"""Default seconds to keep retrying one request: a service outage of a minute or two must
not end a long build (five attempts used to give up after about 7.5 s of waiting)."""
BASE_DELAY = 1.0
MAX_DELAY = 30.0
MIN_DEADLINE, MAX_DEADLINE = 60.0, 600.0
"""Seconds one request may take in all; a request is at most REQUEST_BYTES of text."""
MAX_AUDIO_BYTES = 64 * 1024 * 1024
"""No request's audio is held past this (hours of the service's 48 kbps MP3)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep retrying a request, and how long to wait between attempts.

    The budget is a duration, counted from the request's first failure: attempts follow
    until it is used up. Waits grow exponentially from ``base_delay`` to at most
    ``max_delay``, each a random point in the upper half of its range (concurrent turns
    spread out, yet every wait is real), and the last is cut to end at the budget.
    ``clock`` and ``sleep`` are what tests replace to run an outage of minutes in
    milliseconds.
    """

    budget: float = RETRY_FOR
    base_delay: float = field(default_factory=lambda: BASE_DELAY)
    max_delay: float = field(default_factory=lambda: MAX_DELAY)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def delay(self, retry: int, used: float) -> float | None:
        """Seconds to wait before retry number ``retry`` (0 for the first), with ``used``
        seconds of the budget gone; None when the budget is spent."""
        left = self.budget - used
        if left <= 0:
            return None
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(retry, 60))
        return min(left, random.uniform(ceiling / 2, ceiling))  # noqa: S311


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def service_reachable(timeout: float = 2.0) -> bool:
    """Can a connection be opened to the speech service (or the proxy the environment names)?"""
    import urllib.request

    import edge_tts.communicate

    wss_url: str = getattr(edge_tts.communicate, "WSS_URL")  # noqa: B009 (not exported)
    url = urlparse(wss_url.replace("wss://", "https://", 1)
                   .replace("ws://", "http://", 1))
    proxies = urllib.request.getproxies()
    proxy = proxies.get("https") or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        url = urlparse(proxy if "://" in proxy else f"http://{proxy}")
    port = url.port or (443 if url.scheme in ("https", "wss") else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def split_for_requests(text: str, limit: int = REQUEST_BYTES) -> list[str]:
    """Pieces of ``text`` of at most ``limit`` UTF-8 bytes, cut at sentence ends, then at
    clause marks, and only as a last resort inside a clause."""
    parts = (part for sentence in split_sentences(text) for part in _fit_bytes(sentence, limit))
    return pack(parts, limit, _utf8_bytes)


def _utf8_bytes(text: str) -> int:
    return len(text.encode())


def _fit_bytes(sentence: str, limit: int) -> list[str]:
    if len(sentence.encode()) <= limit:
        return [sentence]
    out: list[str] = []
    for clause in split_clauses(sentence):
        while len(clause.encode()) > limit:
            cut = limit
            while len(clause[:cut].encode()) > limit:
                cut -= 1
            space = clause.rfind(" ", 0, cut)
            cut = space if space > cut // 2 else cut
            out.append(clause[:cut].strip())
            clause = clause[cut:].strip()
        if clause:
            out.append(clause)
    return out


class _Retryable(Exception):
    pass


T = TypeVar("T")


class EdgeEngine:
    name = "edge"
    takes_slots = True
    """Each request takes its own connection slot (see ``speech.slots``): a long turn's
    requests run side by side on free connections."""

    def __init__(self, retry: RetryPolicy | None = None, connect_timeout: int = 10,
                 receive_timeout: int = 30, request_deadline: float | None = None):
        self.retry = retry or RetryPolicy()
        self.connect_timeout = connect_timeout
        self.receive_timeout = receive_timeout
        self.request_deadline = request_deadline if request_deadline is not None else max(
            MIN_DEADLINE, min(MAX_DEADLINE, self.retry.budget))
        """One request in all (a message every few seconds must not hold a build): the
        retry budget, within [MIN_DEADLINE, MAX_DEADLINE]."""

    @property
    def version(self) -> str:
        return f"edge-tts {package_version('edge-tts')}"

    def settings_for(self, profile: VoiceProfile) -> EdgeSettings:
        return profile_settings(profile)

    def voice_language(self, settings: EngineSettings) -> str:
        return "-".join(settings.voice.split("-")[:2])

    async def check_voices(self, voices: dict[str, tuple[VoiceProfile, EngineSettings]]
                           ) -> None:
        """Refuse, before any request, a voice the service does not list. When the list
        cannot be had, the renders themselves will say what is wrong."""
        try:
            listed = {v.name for v in await asyncio.wait_for(list_voices(), 15)}
        except (EngineError, TimeoutError, ValueError, KeyError):
            return
        for host, (profile, settings) in voices.items():
            if settings.voice not in listed:
                raise InputError(
                    f"edge voice {settings.voice!r} of host {host!r} (profile "
                    f"{profile.name!r}) is not offered by the service; see "
                    "'duopod voices --engine edge'", profile.path,
                    profile.setting_line("edge", "voice"),
                )

    async def render(self, sentences: Sequence[str], settings: EngineSettings,
                     notify: Callable[[str], None] | None = None) -> Speech:
        """The turn is sent as requests of whole sentences; the service's own sentence
        boundaries are mapped back onto ours by character position."""
        pieces: list[np.ndarray] = []
        spans: list[SentenceSpan] = []
        cursor = 0.0
        requests = split_for_requests(_join(sentences))
        slots = shared_or_own()
        edge = EdgeSettings.of(settings)
        answers = await _all_or_none([self._answer(request, edge, notify, slots)
                                      for request in requests])
        for request, (samples, boundaries) in zip(requests, answers, strict=True):
            for offset, duration, sentence in boundaries:
                start = cursor + offset / TICKS_PER_SECOND + STREAM_DELAY
                spans.append(SentenceSpan(sentence, start, start + duration / TICKS_PER_SECOND))
            if not boundaries:
                spans.append(SentenceSpan(request, cursor, cursor + len(samples) / SAMPLE_RATE))
            pieces.append(samples)
            cursor += len(samples) / SAMPLE_RATE
        return Speech(np.concatenate(pieces), _aligned(sentences, spans, cursor))

    async def _answer(self, text: str, settings: EdgeSettings, notify: Notify | None,
                      slots: Slots) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
        """One request's decoded audio and boundaries. Decoding (an ffmpeg process and a
        resampler) runs in a thread, after the slot is given back: the event loop meanwhile
        starts the next request and reads the other connections."""
        audio, boundaries = await self._request_with_retries(text, settings, notify, slots)
        return await asyncio.to_thread(decode, audio, "mp3"), boundaries

    async def _request_with_retries(
        self, text: str, settings: EdgeSettings, notify: Callable[[str], None] | None,
        slots: Slots,
    ) -> tuple[bytes, list[tuple[int, int, str]]]:
        policy = self.retry
        first_failure: float | None = None
        retry = 0
        while True:
            try:
                # a slot per attempt: the backoff below does not keep a connection idle
                async with slots.hold(len(text.encode())):
                    return await self._request(text, settings)
            except _Retryable as exc:
                now = policy.clock()
                first_failure = now if first_failure is None else first_failure
                used = now - first_failure
                wait = policy.delay(retry, used)
                if wait is None:
                    raise EngineError(
                        f"edge-tts gave up after {retry + 1} attempts in {_seconds(used)} "
                        f"(--retry-for {_seconds(policy.budget)}): {exc}"
                    ) from exc
                retry += 1
                if notify:
                    notify(f"retrying in {wait:.1f} s (attempt {retry + 1}, {_seconds(used)} "
                           f"of {_seconds(policy.budget)} used): {exc}")
                await policy.sleep(wait)

    async def _request(self, text: str, settings: EdgeSettings
                       ) -> tuple[bytes, list[tuple[int, int, str]]]:
        import aiohttp
        import edge_tts
        import edge_tts.exceptions

        communicate = edge_tts.Communicate(
            text, settings.voice, rate=settings.rate, volume=settings.volume,
            pitch=settings.pitch, boundary="SentenceBoundary",
            connect_timeout=self.connect_timeout, receive_timeout=self.receive_timeout,
        )
        audio = bytearray()
        boundaries: list[tuple[int, int, str]] = []
        stream = communicate.stream()
        try:
            async with asyncio.timeout(self.request_deadline):
                while True:
                    # edge-tts's receive_timeout does not reach WebSocket reads: a silent
                    # service would hang the build, so every message has its own deadline
                    try:
                        chunk = await asyncio.wait_for(anext(stream), self.receive_timeout)
                    except StopAsyncIteration:
                        break
                    if chunk["type"] == "audio":
                        audio += chunk["data"]
                        if len(audio) > MAX_AUDIO_BYTES:
                            raise EngineError(f"the service sent more than {MAX_AUDIO_BYTES} "
                                              "bytes of audio for one request")
                    elif chunk["type"] == "SentenceBoundary":
                        boundaries.append((int(chunk["offset"]), int(chunk["duration"]),
                                           chunk["text"]))
        except TimeoutError as exc:  # ours above, or aiohttp's connect/read time-outs
            raise _Retryable(f"Timeout waiting for the service ({exc.__class__.__name__}, "
                             f"{self.receive_timeout} s without a message or "
                             f"{self.request_deadline:g} s in all)") from exc
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in _RETRY_STATUS:
                raise _Retryable(f"service answered HTTP {exc.status}") from exc
            raise EngineError(f"service refused the connection (HTTP {exc.status})") from exc
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise _Retryable(f"connection problem: {exc.__class__.__name__} {exc}") from exc
        except edge_tts.exceptions.NoAudioReceived as exc:
            raise _Retryable("the service sent no audio") from exc
        except edge_tts.exceptions.EdgeTTSException as exc:
            raise _Retryable(f"{exc.__class__.__name__}: {exc}") from exc
        finally:
            await stream.aclose()
        # The client counts audio into cumulative_audio_bytes only on turn.end: anything
        # else means the stream was cut off and the audio is incomplete.
        if communicate.state["cumulative_audio_bytes"] != len(audio):
            raise _Retryable("the connection closed before the end of the audio")
        return bytes(audio), boundaries


def _join(sentences: Sequence[str]) -> str:
    """A turn's sentences as one text."""
    return functools.reduce(join_text, sentences, "")


def _aligned(sentences: Sequence[str], marks: list[SentenceSpan], duration: float
             ) -> list[SentenceSpan]:
    """Our sentences' spans from the service's boundaries over the joined text."""
    return spans_by_characters(_join(sentences), sentences, marks, duration)


def make_engine(options: EngineOptions) -> EdgeEngine:
    return EdgeEngine(RetryPolicy(budget=options.retry_for))


def unavailable() -> str | None:
    return None if service_reachable() else "Microsoft's speech service is not reachable"


def voice_list(locale: str | None = None) -> list[Voice]:
    return asyncio.run(list_voices(locale))


async def _all_or_none(coroutines: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently and return the results in order; when one fails, cancel the others
    (their slots go to other turns) and raise its error as it is."""
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        unfinished = [task for task in tasks if not task.done()]
        for task in unfinished:
            task.cancel()
        if unfinished:
            await asyncio.gather(*unfinished, return_exceptions=True)


async def list_voices(locale: str | None = None) -> list[Voice]:
    """The service's voices (optionally one locale's), each as the registry lists voices;
    an entry without a name is passed over."""
    import aiohttp
    import edge_tts

    try:
        voices = await edge_tts.list_voices()
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise EngineError(
            f"cannot reach Microsoft's voice list ({exc.__class__.__name__}); are you offline? "
            "'duopod voices --engine espeak' lists the offline voices"
        ) from exc
    found = [Voice(str(v["ShortName"]), str(v.get("Locale", "")), str(v.get("Gender", "")))
             for v in voices if isinstance(v, dict) and isinstance(v.get("ShortName"), str)]
    if locale:
        found = [v for v in found if v.language.lower() == locale.lower()]
    return found
