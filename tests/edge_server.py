"""A local stand-in for Microsoft's read-aloud service, so the real ``edge_tts`` client runs
unmodified against it (tests and benchmarks; never part of the product).

It speaks the client's WebSocket protocol: reads ``speech.config`` and ``ssml`` messages and
answers ``turn.start``, ``response``, ``audio.metadata`` frames with SentenceBoundary events,
binary ``audio`` frames of real MP3 speech (24 kHz mono 48 kb/s, made with the offline
engine and ffmpeg) and ``turn.end``. Knobs add latency, real-time-like streaming and faults.
"""

from __future__ import annotations

import asyncio
import html
import json
import random
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import edge_tts.communicate
import edge_tts.voices
import imageio_ffmpeg
import numpy as np
from aiohttp import WSMsgType, web
from loopback import LoopbackApp

from duopod.audio.decode import SAMPLE_RATE
from duopod.speech.engines.espeak import EspeakEngine
from duopod.speech.engines.espeak_settings import EspeakSettings
from duopod.text import split_sentences

VOICES = [
    {"Name": f"Microsoft Server Speech Text to Speech Voice ({locale}, {name})",
     "ShortName": f"{locale}-{name}", "Gender": gender, "Locale": locale,
     "SuggestedCodec": "audio-24khz-48kbitrate-mono-mp3", "FriendlyName": name,
     "Status": "GA", "VoiceTag": {"ContentCategories": ["News"], "VoicePersonalities": []}}
    for locale, name, gender in (
        ("zh-CN", "YunjianNeural", "Male"), ("zh-CN", "XiaoxiaoNeural", "Female"),
        ("zh-CN", "YunxiNeural", "Male"), ("en-US", "GuyNeural", "Male"),
        ("en-US", "JennyNeural", "Female"), ("en-US", "BlockedNeural", "Female"),
    )
]
TICKS = 10_000_000
BYTES_PER_SECOND = 48_000 // 8


@dataclass
class Knobs:
    latency: float = 0.0
    """Seconds before the first answer to each request."""
    speed: float | None = None
    """Stream audio at this many times real time (None: all at once)."""
    handshake_503: int = 0
    """The next N connections are refused with HTTP 503."""
    handshake_status: int | None = None
    """Refuse every connection with this HTTP status."""
    close_midstream: int = 0
    """The next N requests are cut off halfway through their audio."""
    no_audio: int = 0
    """The next N requests end their turn without audio."""
    rejected_voices: set[str] = field(default_factory=lambda: {"en-US-BlockedNeural"})
    """Voices that get no audio (as the real service does for a voice it will not use)."""
    listed: bool = True
    """Whether the voice list answers."""
    stall: int = 0
    """The next N requests go silent after turn.start (the client must time out)."""
    stall_seconds: float = 5.0
    fail_after: int | None = None
    """Requests after this many get no audio (a service that breaks down mid-run)."""
    jitter: float = 0.0
    """Up to this many extra seconds of latency, at random, per request."""


@dataclass
class Request:
    voice: str
    rate: str
    pitch: str
    volume: str
    text: str
    started: float = 0.0
    """time.monotonic() when the request arrived, and when its answer was sent: which
    requests overlapped."""
    finished: float = 0.0


class EdgeServer(LoopbackApp):
    def __init__(self, knobs: Knobs | None = None):
        self.knobs = knobs or Knobs()
        self.requests: list[Request] = []
        self.open_connections = 0
        self.max_open_connections = 0
        self.connections = 0
        self._audio_cache: dict[tuple[str, str], tuple[bytes, list[tuple[int, int, str]]]] = {}
        self._lock = threading.Lock()
        self.port = 0

    # ------------------------------------------------------------ lifecycle

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/consumer/speech/synthesize/readaloud/edge/v1", self._websocket)
        app.router.add_get("/consumer/speech/synthesize/readaloud/voices/list", self._voices)

    @property
    def wss_url(self) -> str:
        return (f"ws://127.0.0.1:{self.port}/consumer/speech/synthesize/readaloud/edge/v1"
                "?TrustedClientToken=x")

    @property
    def voice_list_url(self) -> str:
        return (f"http://127.0.0.1:{self.port}/consumer/speech/synthesize/readaloud/voices/list"
                "?trustedclienttoken=x")

    def install(self, monkeypatch: Any) -> None:
        """Point the real edge_tts client at this server."""
        monkeypatch.setattr(edge_tts.communicate, "WSS_URL", self.wss_url)
        monkeypatch.setattr(edge_tts.voices, "VOICE_LIST", self.voice_list_url)

    def prepare(self, voice: str, text: str) -> None:
        """Make (and keep) the audio for a request ahead of time, so timing a client
        measures latency and streaming, not this server's synthesis."""
        self._speech(voice, text)

    # ------------------------------------------------------------ HTTP

    async def _voices(self, request: web.Request) -> web.Response:
        if not self.knobs.listed:
            return web.Response(status=503)
        return web.json_response(VOICES)

    def _take(self, knob: str) -> bool:
        with self._lock:
            if getattr(self.knobs, knob) > 0:
                setattr(self.knobs, knob, getattr(self.knobs, knob) - 1)
                return True
        return False

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if self.knobs.handshake_status:
            return web.Response(status=self.knobs.handshake_status)
        if self._take("handshake_503"):
            return web.Response(status=503)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with self._lock:
            self.connections += 1
            self.open_connections += 1
            self.max_open_connections = max(self.max_open_connections, self.open_connections)
        try:
            await self._serve(ws)
        finally:
            with self._lock:
                self.open_connections -= 1
        return ws

    async def _serve(self, ws: web.WebSocketResponse) -> None:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            headers, _, body = message.data.partition("\r\n\r\n")
            if "Path:ssml" not in headers:
                continue
            request_id = re.search(r"X-RequestId:(\w+)", headers)
            rid = request_id.group(1) if request_id else uuid.uuid4().hex
            await self._answer(ws, rid, self._parse_ssml(body))
            await ws.close()
            return

    @staticmethod
    def _parse_ssml(ssml: str) -> Request:
        voice = re.search(r"<voice name='([^']*)'>", ssml)
        prosody = re.search(r"<prosody pitch='([^']*)' rate='([^']*)' volume='([^']*)'>(.*)"
                            r"</prosody>", ssml, re.S)
        assert voice and prosody, ssml
        long_name = re.match(r"Microsoft Server Speech Text to Speech Voice \((\S+), (\S+)\)$",
                             voice.group(1))
        name = f"{long_name.group(1)}-{long_name.group(2)}" if long_name else voice.group(1)
        return Request(name, prosody.group(2), prosody.group(1), prosody.group(3),
                       html.unescape(prosody.group(4)))

    async def _answer(self, ws: web.WebSocketResponse, rid: str, req: Request) -> None:
        req.started = time.monotonic()
        with self._lock:
            self.requests.append(req)
        try:
            await self._send_answer(ws, rid, req)
        finally:
            req.finished = time.monotonic()

    async def _send_answer(self, ws: web.WebSocketResponse, rid: str, req: Request) -> None:
        delay = self.knobs.latency + random.uniform(0, self.knobs.jitter)
        if delay:
            await asyncio.sleep(delay)
        await ws.send_str(_text_frame(rid, "turn.start", {"context": {"serviceTag": "x"}}))
        await ws.send_str(_text_frame(rid, "response", {"context": {"serviceTag": "x"}}))
        if self._take("stall"):
            await asyncio.sleep(self.knobs.stall_seconds)
            return
        broken = self.knobs.fail_after is not None and len(self.requests) > self.knobs.fail_after
        if req.voice in self.knobs.rejected_voices or broken or self._take("no_audio"):
            await ws.send_str(_text_frame(rid, "turn.end", {}))
            return
        audio, boundaries = await asyncio.to_thread(self._speech, req.voice, req.text)
        for offset, duration, text in boundaries:
            await ws.send_str(_text_frame(rid, "audio.metadata", {"Metadata": [{
                "Type": "SentenceBoundary",
                "Data": {"Offset": offset, "Duration": duration,
                         "text": {"Text": html.escape(text, quote=False), "Length": len(text),
                                  "BoundaryType": "SentenceBoundary"}},
            }]}))
        cut = self._take("close_midstream")
        step = BYTES_PER_SECOND  # one second of audio per frame
        for start in range(0, len(audio), step):
            if cut and start >= len(audio) // 2:
                await ws.close()
                return
            await ws.send_bytes(_audio_frame(rid, audio[start : start + step]))
            if self.knobs.speed:
                await asyncio.sleep(len(audio[start : start + step]) / BYTES_PER_SECOND
                                    / self.knobs.speed)
        await ws.send_str(_text_frame(rid, "turn.end", {}))

    # ------------------------------------------------------------ speech

    def _speech(self, voice: str, text: str) -> tuple[bytes, list[tuple[int, int, str]]]:
        key = (voice, text)
        with self._lock:
            hit = self._audio_cache.get(key)
        if hit is not None:
            return hit
        settings = _espeak_settings(voice)
        engine = EspeakEngine()
        pieces: list[np.ndarray] = []
        boundaries: list[tuple[int, int, str]] = []
        cursor = 0.1  # the service starts with a little silence
        pieces.append(np.zeros(int(0.1 * SAMPLE_RATE), dtype=np.float32))
        for sentence in split_sentences(text):
            speech = engine.render_sync([sentence], settings)
            boundaries.append((int(cursor * TICKS), int(speech.duration * TICKS), sentence))
            pieces += [speech.samples, np.zeros(int(0.25 * SAMPLE_RATE), dtype=np.float32)]
            cursor += speech.duration + 0.25
        audio = _mp3_24k(np.concatenate(pieces))
        with self._lock:
            self._audio_cache[key] = (audio, boundaries)
        return audio, boundaries


def _espeak_settings(voice: str) -> EspeakSettings:
    female = any(v["ShortName"] == voice and v["Gender"] == "Female" for v in VOICES)
    language = "cmn" if voice.startswith("zh") else "en-us"
    return EspeakSettings(f"{language}+{'f3' if female else 'm3'}", pitch=65 if female else 35)


def _mp3_24k(samples: np.ndarray) -> bytes:
    pcm = (np.clip(samples, -1, 0.99997) * 32768).astype("<i2").tobytes()
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "s16le", "-ar",
               str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0", "-ar", "24000", "-c:a",
               "libmp3lame", "-b:a", "48k", "-write_xing", "0", "-id3v2_version", "0",
               "-f", "mp3", "pipe:1"]
    return subprocess.run(command, input=pcm, capture_output=True, check=True).stdout


def _text_frame(rid: str, path: str, body: dict) -> str:
    return (f"X-RequestId:{rid}\r\nContent-Type:application/json; charset=utf-8\r\n"
            f"Path:{path}\r\n\r\n{json.dumps(body, ensure_ascii=False)}")


def _audio_frame(rid: str, data: bytes) -> bytes:
    headers = f"X-RequestId:{rid}\r\nContent-Type:audio/mpeg\r\nPath:audio".encode()
    return (len(headers) + 2).to_bytes(2, "big") + headers + b"\r\n" + data
