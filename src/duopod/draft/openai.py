"""The built-in chat engine: any server that speaks OpenAI's ``/chat/completions``.

Plain HTTP through aiohttp, as the speech engine does (``speech.engines.openai``), so the
key goes in one header and nowhere else; the bounds both keep with a server are
``duopod.http``'s (retry policy, body limit, origins, redaction):

- every answer's body is bounded (``ChatOptions.max_body``): a server that sends more is cut
  off with an error, never read into memory whole;
- every request has a total deadline (``ChatOptions.deadline``) besides the per-read
  time-out, so a server that drips one byte a second cannot hold a command for ever;
- a Retry-After is obeyed, clamped to at least 1 s; one past what is left of the retry
  budget stops the command at once;
- redirects are followed only within the same origin (scheme, host, port): the
  Authorization header never travels to another host.

429, 5xx, time-outs, dropped connections and answers cut off mid-way are retried with
backoff and jitter within ``ChatOptions.retry_for``; other refusals fail at once, naming the
host and what the server said (with the key blanked out).

Structured output: the request carries ``response_format: {type: json_schema}``; a server
that refuses it (400/422/500 naming response_format, or 501) is asked with
``{type: json_object, schema}`` (llama-cpp-python's form), and one that refuses that too is
asked with the schema in the prompt, for the rest of the command. Either way the answer is
validated and mended by ``schema.parse_answer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

from ..disk.atomic import write_atomically
from ..errors import EngineError, InputError
from ..http import (
    REDIRECT_STATUS,
    RETRY_STATUS,
    LoopSemaphore,
    Retryable,
    RetryPolicy,
    bounded_body,
    bounded_chunks,
    error_message,
    host_of,
    origin,
    redact,
    retry_after,
    url_secrets,
)
from .model import ChatOptions, ChatRequest, Completion, Usage
from .schema import SchemaError, parse_answer, schema_text
from .settings import WriterSettings

if TYPE_CHECKING:
    import aiohttp

PROTOCOL_VERSION = "openai-chat/1"
"""Part of every cache key: bump when how we ask changes the answer."""
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
BASE_DELAY = 0.5
MAX_DELAY = 20.0
MAX_REDIRECTS = 3
IDENTIFY_TIMEOUT = 10.0
"""Seconds to wait for ``GET /models`` (which model the server serves) before going on."""
FORMATS = ("json_schema", "json_object", "prompt")
"""How a schema is put to the server, best first."""
_HINTS = {
    401: "check the API key (the variable [writer] api_key_env names)",
    403: "the key may not use this model",
    404: "is base_url right? it usually ends in /v1",
}


class _NoSchema(Exception):
    """The server refused ``response_format``."""


class _CutShort(Retryable):
    """A stream ended ([DONE], or the connection closed) before the server said why the
    answer stopped: llama-cpp-python's server ends a streamed answer that way when another
    request arrives (its ``interrupt_requests``, on by default), which is what spoiled the
    length pass's concurrent rewrites."""


@dataclass(frozen=True)
class _Answer:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None


class OpenAIChatEngine:
    name = "openai"

    def __init__(self, settings: WriterSettings, options: ChatOptions | None = None):
        self.settings = settings
        self.options = options or ChatOptions()
        self.usage = Usage()
        self._formats = list(FORMATS if settings.structured else FORMATS[-1:])
        """What is left to try, best first: the head is what the server accepts."""
        self._gate = LoopSemaphore(self.options.concurrency)
        self._session: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None
        self._identity: dict[str, object] | None = None
        """The server as ``identify`` found it: part of every cache key."""

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def host(self) -> str:
        return host_of(self.settings.base_url)

    # ------------------------------------------------------------ cache

    def cache_key(self, request: ChatRequest) -> str:
        """The server (its address and the model as it describes it), the protocol and the
        request itself: another server, or another model file served under the same name,
        never answers from this cache. Never the key."""
        material = json.dumps({
            "protocol": PROTOCOL_VERSION, "model": self.model, "server": self._identity,
            "messages": request.messages, "schema": request.schema,
            "max_tokens": request.max_tokens, "temperature": request.temperature,
        }, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    async def identify(self) -> None:
        """Learn which model the server serves under ``model`` (``GET /models``: its id,
        when it was made, its owner and any sizes the server reports), once per engine;
        a server that does not say is known by its address alone."""
        if self._identity is not None:
            return
        described: object = None
        if self.options.cache_dir is not None:
            with contextlib.suppress(Exception):  # a server that cannot say: address only
                async with asyncio.timeout(min(IDENTIFY_TIMEOUT, self.options.deadline)):
                    described = await self._described_model()
        self._identity = {"base_url": self.settings.base_url.rstrip("/").lower(),
                          "described": described}

    async def _described_model(self) -> object:
        headers = {"Authorization": f"Bearer {key}"} if (key := self.settings.api_key) else {}
        async with self._client().get(self.settings.base_url + "/models", headers=headers,
                                      allow_redirects=False) as response:
            if response.status != 200:
                return None
            data = json.loads(await bounded_body(response, 1 << 20, f"{self.host}: "))
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            return None
        models = [e for e in entries if isinstance(e, dict)]
        chosen = next((e for e in models if e.get("id") == self.model), None)
        if chosen is None and len(models) == 1:  # llama.cpp serves one, whatever it is asked
            chosen = models[0]
        if chosen is None:
            return None
        return {key: chosen[key] for key in ("id", "created", "owned_by", "meta")
                if key in chosen and isinstance(chosen[key], str | int | float | dict)}

    def _cache_path(self, request: ChatRequest) -> Path | None:
        if self.options.cache_dir is None:
            return None
        key = self.cache_key(request)
        return self.options.cache_dir / "writer" / key[:2] / f"{key}.json"

    def _cached(self, request: ChatRequest) -> Completion | None:
        path = self._cache_path(request)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Completion(text=str(data["text"]), finish_reason=data.get("finish_reason"),
                              cached=True, structured=bool(data.get("structured")))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is asked for again

    def _store(self, request: ChatRequest, completion: Completion) -> None:
        path = self._cache_path(request)
        if path is not None:
            data = {"text": completion.text, "finish_reason": completion.finish_reason,
                    "structured": completion.structured, "model": self.model}
            write_atomically(path, json.dumps(data, ensure_ascii=False).encode())

    # ------------------------------------------------------------ asking

    async def complete(self, request: ChatRequest) -> Completion:
        await self.identify()
        cached = self._cached(request)
        if cached is not None:
            self.usage.add(cached)
            return cached
        async with self._gate.get():
            completion = await self._complete(request)
        if request.schema is not None:
            try:
                parse_answer(completion.text, request.schema)
            except SchemaError as exc:
                raise EngineError(f"the model's {request.purpose} is not usable JSON "
                                  f"({exc})") from None
        self._store(request, completion)
        self.usage.add(completion)
        return completion

    async def close(self) -> None:
        if self._session is not None:
            await self._session[1].close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._session[0] is not loop:
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT,
                                            sock_read=min(READ_TIMEOUT, self.options.deadline))
            self._session = (loop, aiohttp.ClientSession(timeout=timeout, trust_env=False))
        return self._session[1]

    async def _complete(self, request: ChatRequest) -> Completion:
        started = time.monotonic()
        policy = RetryPolicy(self.options.retry_for, BASE_DELAY, MAX_DELAY)
        retry = 0
        while True:
            mode = self._formats[0] if request.schema is not None else "prompt"
            structured = mode != "prompt"
            try:
                async with asyncio.timeout(self.options.deadline):
                    answer = await self._ask(request, mode)
                return Completion(answer.text, answer.prompt_tokens, answer.completion_tokens,
                                  answer.finish_reason, structured=structured)
            except _NoSchema:
                if len(self._formats) > 1 and self._formats[0] == mode:
                    self._formats.pop(0)
                continue
            except _CutShort as exc:  # a one-slot server: ask it one request at a time
                if self._gate.size > 1:
                    self._gate = LoopSemaphore(1)
                reason, asked_wait = str(exc), None
            except Retryable as exc:
                reason, asked_wait = str(exc), exc.retry_after
            except TimeoutError:
                reason, asked_wait = (f"no whole answer within {self.options.deadline:g} s",
                                      None)
            except OSError as exc:  # a socket error aiohttp did not wrap
                reason, asked_wait = f"connection failed ({type(exc).__name__})", None
            wait = policy.delay(retry, time.monotonic() - started, asked_wait)
            if wait is None:
                raise EngineError(f"{self.host}: {request.purpose}: {self._clean(reason)}; "
                                  f"gave up after {time.monotonic() - started:.1f} s") from None
            retry += 1
            await asyncio.sleep(wait)

    def _clean(self, text: str) -> str:
        return redact(text, [self.settings.api_key, *url_secrets(self.settings.base_url)])

    def _payload(self, request: ChatRequest, mode: str) -> dict[str, Any]:
        structured = mode != "prompt"
        messages = [{"role": role, "content": content} for role, content in request.messages]
        if request.schema is not None and not structured:
            messages[0] = {"role": messages[0]["role"],
                           "content": messages[0]["content"] + "\n\n" + schema_text(request.schema)}
        payload: dict[str, Any] = {
            "model": self.model, "messages": messages, "max_tokens": request.max_tokens,
            "temperature": request.temperature, "stream": self.options.stream,
        }
        if self.options.stream:
            payload["stream_options"] = {"include_usage": True}
        if mode == "json_schema" and request.schema is not None:
            payload["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "answer", "strict": True, "schema": request.schema}}
        elif mode == "json_object" and request.schema is not None:
            payload["response_format"] = {"type": "json_object", "schema": request.schema}
        return payload

    async def _ask(self, request: ChatRequest, mode: str) -> _Answer:
        import aiohttp

        headers = {"Content-Type": "application/json"}
        key = self.settings.api_key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.settings.base_url + "/chat/completions"
        home = origin(url)
        body = json.dumps(self._payload(request, mode), ensure_ascii=False).encode()
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                async with self._client().post(url, data=body, headers=headers,
                                               allow_redirects=False) as response:
                    if response.status in REDIRECT_STATUS:
                        target = urljoin(url, response.headers.get("Location", ""))
                        if origin(target) != home:
                            raise EngineError(
                                f"{self.host}: {request.purpose}: the server redirects to "
                                f"another origin ({host_of(target)}); not followed, so the "
                                "key stays with the server it is for")
                        url = target
                        continue
                    if response.status != 200:
                        await self._refusal(response, request, mode != "prompt")
                    if self.options.stream and "event-stream" in response.headers.get(
                            "Content-Type", ""):
                        return await self._read_stream(response)
                    return _answer_of(await bounded_body(response, self.options.max_body,
                                                         f"{self.host}: "))
            except aiohttp.ClientPayloadError as exc:
                raise Retryable(f"answer cut off ({exc.__class__.__name__})") from None
            except aiohttp.ClientError as exc:
                raise Retryable(f"connection failed ({exc.__class__.__name__})") from None
        raise EngineError(f"{self.host}: {request.purpose}: more than {MAX_REDIRECTS} "
                          "redirects")

    async def _refusal(self, response: aiohttp.ClientResponse, request: ChatRequest,
                       structured: bool) -> None:
        status = response.status
        try:
            text = (await response.content.read(4096)).decode("utf-8", "replace")
        except Exception:  # the status says enough
            text = ""
        message = error_message(text, 300)
        if structured and (status == 501 or (status in (400, 422, 500) and re.search(
                r"response_format|json_schema|schema|grammar", message, re.IGNORECASE))):
            raise _NoSchema()
        if status in RETRY_STATUS:
            raise Retryable(f"HTTP {status} {message}".strip(),
                             retry_after(response.headers.get("Retry-After")))
        hint = f" ({_HINTS[status]})" if status in _HINTS else ""
        raise EngineError(f"{self.host}: {request.purpose}: HTTP {status} "
                          f"{self._clean(message)}{hint}".rstrip())

    async def _read_stream(self, response: aiohttp.ClientResponse) -> _Answer:
        chunks: AsyncIterator[bytes] = bounded_chunks(response, self.options.max_body,
                                                      f"{self.host}: ")
        parts: list[str] = []
        usage: dict[str, Any] = {}
        finish: str | None = None
        done = False
        buffer = b""
        async for chunk in chunks:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.strip()
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    done = True
                    continue
                try:
                    event = json.loads(data)
                except ValueError:
                    raise Retryable("garbled event in the stream") from None
                if not isinstance(event, dict):
                    raise Retryable("garbled event in the stream")
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    delta = (choice or {}).get("delta") or {}
                    content = delta.get("content")
                    if isinstance(content, str):
                        parts.append(content)
                    finish = choice.get("finish_reason") or finish
        if finish is None:
            raise _CutShort("the stream stopped mid-way" if not done else
                            "the stream ended without a finish reason (cut short)")
        return _Answer("".join(parts), int(usage.get("prompt_tokens") or 0),
                       int(usage.get("completion_tokens") or 0), finish)


def _answer_of(body: bytes) -> _Answer:
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        text = choice["message"]["content"]
        usage = data.get("usage") or {}
    except (ValueError, KeyError, IndexError, TypeError):
        raise Retryable("the answer is not a chat completion") from None
    if not isinstance(text, str):
        raise Retryable("the answer has no text")
    return _Answer(text, int(usage.get("prompt_tokens") or 0),
                   int(usage.get("completion_tokens") or 0), choice.get("finish_reason"))


def make_engine(settings: WriterSettings, options: ChatOptions) -> OpenAIChatEngine:
    if (urlparse(settings.base_url).hostname or "").endswith("openai.com") and \
            not settings.api_key:
        raise InputError(f"{host_of(settings.base_url)} needs an API key: set "
                         f"{settings.api_key_env}, or point [writer] base_url at a local "
                         "server", settings.path)
    return OpenAIChatEngine(settings, options)
