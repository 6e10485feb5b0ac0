"""A local stand-in for an OpenAI-compatible chat server (tests and benchmarks; never part
of the product).

``POST /v1/chat/completions`` answers OpenAI's JSON, streamed as server-sent events when
asked (``stream: true``), with a usage block. The answer follows the request's JSON schema
(from ``response_format``, or from the prompt when structured output is switched off, as a
server without it would see it): outlines, turns, summaries and notes made of the article's
own sentences, so a draft from it is grounded. Knobs add the faults a real server has: 429
with Retry-After, 503s, a slow drip, an oversized body, a redirect, garbage, a stream that
stops mid-way, a refused response_format, an API key check whose 401 echoes the key.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from loopback import LoopbackApp


@dataclass
class Knobs:
    structured: bool = True
    """False: a 400 naming response_format, as servers without structured output answer."""
    json_object_only: bool = False
    """Refuse ``json_schema`` with a 500 (as llama-cpp-python does) but take
    ``{type: json_object, schema}``."""
    api_key: str | None = None
    rate_limit: int = 0
    retry_after: str = "1"
    fail_503: int = 0
    drip: int = 0
    """The next N answers come one byte every ``drip_seconds``."""
    drip_seconds: float = 0.5
    oversized: int = 0
    """The next N answers are ``oversized_bytes`` long."""
    oversized_bytes: int = 5_000_000
    redirect_to: str | None = None
    """Every request is redirected (307) there (only the next one: ``redirect_once``)."""
    redirect_once: bool = False
    garbage: int = 0
    """The next N answers' content is not JSON."""
    stop_midway: int = 0
    """The next N streams stop halfway, without [DONE]."""
    english: bool = False
    """Answer in English whatever was asked (a model ignoring the language)."""
    ignore_length: bool = False
    """Answer a length pass ("Rewrite part N to about M characters") as the first draft
    was answered, at its own length (a model ignoring the request)."""
    answer: Callable[[dict[str, Any], dict[str, Any] | None], str] | None = None
    """Replace the answer's content (payload, schema) -> text."""
    interrupt: bool = False
    """End a streamed answer early ([DONE], no finish reason) when another request arrives
    while it streams, as llama-cpp-python's server does (its interrupt_requests)."""
    model_created: int = 1_700_000_000
    """What ``GET /v1/models`` says of the model (another file under the same name: change
    it)."""


@dataclass
class Call:
    payload: dict[str, Any]
    authorization: str | None
    status: int = 0
    at: float = field(default_factory=time.monotonic)


def _sentences(text: str) -> list[str]:
    import zhconv

    found = [s.strip() for s in re.split(r"(?<=[。！？!?])", zhconv.convert(text, "zh-hans"))]
    return [s for s in found if 8 <= len(s) <= 110 and "Article" not in s] or ["没有内容。"]


_RESIZE = re.compile(r"Rewrite part \d+ to about (\d+) Chinese characters")


def _han(text: str) -> int:
    return len(re.findall(r"[\u4e00-\u9fff]", text))


def _fill(sentences: list[str], size: int) -> list[str]:
    """Sentences, in order, whose Han characters come to about ``size`` (within 10%)."""
    chosen: list[str] = []
    total = 0
    for sentence in dict.fromkeys(sentences):
        if total >= size * 0.9:
            break
        if total + _han(sentence) <= size * 1.1:
            chosen.append(sentence)
            total += _han(sentence)
    return chosen or sentences[:1]


def _resized_turns(user: str, hosts: list[str], size: int, count: int) -> dict[str, Any]:
    """A length pass obeyed: the part's own sentences first, then the article's, to about
    ``size`` characters, dealt out over the ``count`` turns the schema allows."""
    now = user.split("Its turns now:", 1)[-1]
    chosen = _fill(_sentences(now) + _sentences(user), size)
    turns = [t for t in ("".join(chosen[i::count]) for i in range(count)) if t]
    return {"turns": [{"speaker": speaker_at(hosts, i), "text": t}
                      for i, t in enumerate(turns)]}


def speaker_at(speakers: list[str], i: int) -> str:
    """The hosts take turns; a guest (a third speaker) answers every third turn."""
    return speakers[2] if len(speakers) > 2 and i % 3 == 1 else speakers[i % 2]


def answer_for(payload: dict[str, Any], schema: dict[str, Any] | None, english: bool = False,
               ignore_length: bool = False) -> str:
    """JSON following ``schema``, made of the article's sentences: a movement's turns leave
    out what its prompt says was already said; a length pass is answered at the length it
    asks for (unless ``ignore_length``)."""
    user = payload["messages"][-1]["content"]
    said = user.split("Already said", 1)[1].split("Write part", 1)[0] \
        if "Already said" in user else ""
    sentences = [s for s in _sentences(user) if s not in said] or _sentences(user)
    if english:
        sentences = ["This is an English sentence about the chips."] * 8
    props = (schema or {}).get("properties", {})
    if "translations" in props:
        texts = json.loads(user.split("TEXTS: ", 1)[1])
        return json.dumps({"translations": [stand_in_translation(t) for t in texts]},
                          ensure_ascii=False)
    if "movements" in props:
        count = props["movements"]["maxItems"]
        value: Any = {"title": sentences[0][:20], "movements": [
            {"heading": f"第{i + 1}部分", "facts": sentences[i::count][:3]} for i in range(count)]}
    elif "turns" in props and (resize := _RESIZE.search(user)) and not (ignore_length
                                                                        or english):
        value = _resized_turns(user, props["turns"]["items"]["properties"]["speaker"]["enum"],
                               int(resize.group(1)), props["turns"]["maxItems"])
    elif "turns" in props:
        items = props["turns"]["items"]["properties"]
        hosts = items["speaker"]["enum"]
        count = props["turns"]["maxItems"]
        offset = len(user) % max(1, len(sentences))
        value = {"turns": [{"speaker": speaker_at(hosts, i),
                            "text": sentences[(offset + i) % len(sentences)]
                            + sentences[(offset + i + 1) % len(sentences)]}
                           for i in range(count)]}
    elif "facts" in props:
        value = {"facts": sentences[:6]}
    elif "sections" in props:
        value = {"headline": sentences[0][:60], "sections": [
            {"heading": "Background", "points": sentences[:2]},
            {"heading": "What comes next", "points": sentences[2:4]}]}
    elif "text" in props:
        value = {"text": sentences[0]}
    else:
        return sentences[0]
    return json.dumps(value, ensure_ascii=False)


_DIRECTIONS = {"停顿": "pause", "笑": "laughs"}


def stand_in_translation(text: str) -> str:
    """An "English" version a test can check: every stage direction translated in place,
    every number, code and Latin word kept where it was, each run of Chinese made English
    words."""
    def direction(match: re.Match[str]) -> str:
        inside = match.group(1)
        word = next((en for zh, en in _DIRECTIONS.items() if zh in inside), inside)
        return f"({word})"

    text = re.sub(r"[（(]([^）)]*)[）)]", direction, text)
    text = re.sub(r"[\u3400-\u9fff]+", " they say ", text)
    text = re.sub(r"[，。！？：；、“”「」]+", ", ", text)
    return " ".join(text.split()).strip(" ,") + "."


class ChatServer(LoopbackApp):
    def __init__(self) -> None:
        self.knobs = Knobs()
        self.calls: list[Call] = []
        self.interrupted = 0
        """Streamed answers ended early by another request (``Knobs.interrupt``)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self.complete)
        app.router.add_post("/elsewhere/chat/completions", self.complete)
        app.router.add_get("/v1/models", self.models)

    async def models(self, request: web.Request) -> web.Response:
        """The model list as llama.cpp's server answers it: one model, whatever its name."""
        return web.json_response({"object": "list", "data": [
            {"id": "stand-in", "object": "model", "created": self.knobs.model_created,
             "owned_by": "llamacpp"}]})

    async def complete(self, request: web.Request) -> web.StreamResponse:
        payload = await request.json()
        call = Call(payload, request.headers.get("Authorization"))
        self.calls.append(call)
        knobs = self.knobs
        if knobs.redirect_to:
            call.status = 307
            target = knobs.redirect_to
            if knobs.redirect_once:
                knobs.redirect_to = None
            raise web.HTTPTemporaryRedirect(target)
        if knobs.api_key and call.authorization != f"Bearer {knobs.api_key}":
            call.status = 401
            return web.json_response({"error": {"message": "Incorrect API key provided: "
                                      f"{call.authorization}"}}, status=401)
        if knobs.rate_limit:
            knobs.rate_limit -= 1
            call.status = 429
            return web.json_response({"error": {"message": "slow down"}}, status=429,
                                     headers={"Retry-After": knobs.retry_after})
        if knobs.fail_503:
            knobs.fail_503 -= 1
            call.status = 503
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        schema = None
        if "response_format" in payload:
            kind = payload["response_format"]["type"]
            if knobs.json_object_only and kind == "json_schema":
                call.status = 500
                return web.json_response({"error": {"message": "response_format.type: Input "
                                          "should be 'text' or 'json_object'"}}, status=500)
            if not knobs.structured:
                call.status = 400
                return web.json_response({"error": {"message": "response_format is not "
                                          "supported"}}, status=400)
            schema = (payload["response_format"].get("schema") if kind == "json_object"
                      else payload["response_format"]["json_schema"]["schema"])
        else:
            system = payload["messages"][0]["content"]
            if "JSON schema:\n" in system:
                schema = json.loads(system.split("JSON schema:\n", 1)[1])
        content = (knobs.answer or (lambda p, s: answer_for(p, s, knobs.english,
                                                            knobs.ignore_length)))(payload,
                                                                                   schema)
        if knobs.garbage:
            knobs.garbage -= 1
            content = "I am sorry, as a language model {{{ not json"
        call.status = 200
        usage = {"prompt_tokens": len(json.dumps(payload)) // 4,
                 "completion_tokens": len(content) // 2}
        if knobs.oversized:
            knobs.oversized -= 1
            content = "x" * knobs.oversized_bytes
        if payload.get("stream"):
            return await self._stream(request, content, usage)
        body = json.dumps({"choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": content}}], "usage": usage}).encode()
        if knobs.drip:
            knobs.drip -= 1
            return await self._drip(request, body)
        return web.Response(body=body, content_type="application/json")

    async def _drip(self, request: web.Request, body: bytes) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for byte in body:
            await response.write(bytes([byte]))
            await asyncio.sleep(self.knobs.drip_seconds)
        return response

    async def _stream(self, request: web.Request, content: str, usage: dict[str, int]
                      ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        pieces = [content[i:i + 16] for i in range(0, len(content), 16)] or [""]
        stop = self.knobs.stop_midway > 0
        if stop:
            self.knobs.stop_midway -= 1
            pieces = pieces[: max(1, len(pieces) // 2)]
        arrived = len(self.calls)
        for piece in pieces:
            event = {"choices": [{"index": 0, "delta": {"content": piece},
                                  "finish_reason": None}]}
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
            if self.knobs.drip:
                await asyncio.sleep(self.knobs.drip_seconds)
            if self.knobs.interrupt:
                await asyncio.sleep(0.01)  # a model's pace: others may arrive meanwhile
                if len(self.calls) > arrived:
                    self.interrupted += 1
                    await response.write(b"data: [DONE]\n\n")
                    return response
        if stop:
            request.transport.close() if request.transport else None  # type: ignore[func-returns-value]
            return response
        final = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
        await response.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
        return response
