"""The ``llama-cpp`` chat engine: a GGUF model file run inside duopod's own process by
llama-cpp-python (``pip install 'duopod[writer]'``), no server to start or keep running.
``[writer] model_path = "models/qwen2.5-7b-instruct-q4_k_m.gguf"`` chooses it.

Why the weights go in plain CPU buffers: on CPUs with AMX (Sapphire Rapids and later
Xeons, this project's machines among them) llama.cpp 0.3.36 places the weights in an
"extra" AMX buffer whose batched matrix path segfaults on the first prompt longer than one
token: the process dies without a word. ``use_extra_bufts`` is no argument of ``Llama()``,
which reads llama.cpp's default model parameters when it loads a model, so those defaults
are wrapped for the moment of loading (under a lock: nothing else loads meanwhile) with the
extra buffers off. Plain buffers give the same tokens, a little more slowly.

Answers follow the request's JSON schema through llama-cpp-python's own grammar
(``response_format: {type: json_object, schema}``), and are checked again here, as every
engine's are. The grammar is given the schema without its ``maxLength``s: llama.cpp
spells a string of at most N characters as N nested rules, refuses a grammar past its
repetition limit and then dies of the refused grammar (an English turn's 1,200
characters did: a segfault after "error parsing grammar"). ``schema.parse_answer`` cuts an
over-long string to its limit as it does for every server, and ``max_tokens`` bounds it.

One model answers one request at a time (a lock; the draft's concurrent requests queue),
on a worker thread so the command's event loop stays free.

The cache key holds the model file's SHA-256 (``cache.AnswerCache.file_digest``), the
context size and the request: another file, even under the same name, is asked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import EngineError, InputError
from ..http import LoopSemaphore
from .cache import AnswerCache
from .model import ChatOptions, ChatRequest, Completion, Usage
from .schema import JsonSchema, SchemaError, parse_answer
from .settings import WriterSettings

PROTOCOL_VERSION = "llama-cpp/1"
"""Part of every cache key: bump when how the model is asked changes the answer."""
SEED = 20251210
"""Sampling is seeded: the same request to the same file gives the same answer."""
_LOADING = threading.Lock()


@contextlib.contextmanager
def plain_cpu_buffers() -> Iterator[None]:
    """llama.cpp's default model parameters with ``use_extra_bufts`` off while a model
    loads (see the module's docstring: the AMX buffers' batched path segfaults)."""
    import llama_cpp.llama_cpp as low_level

    with _LOADING:
        default_params = low_level.llama_model_default_params

        def plain() -> Any:
            params = default_params()
            params.use_extra_bufts = False
            return params

        low_level.llama_model_default_params = plain
        try:
            yield
        finally:
            low_level.llama_model_default_params = default_params


class LocalChatEngine:
    name = "llama-cpp"

    def __init__(self, settings: WriterSettings, options: ChatOptions | None = None):
        if settings.model_path is None:
            raise InputError("[writer] model_path names no GGUF file", settings.path)
        self.settings = settings
        self.options = options or ChatOptions()
        self.usage = Usage()
        self.path: Path = settings.model_path
        self._cache = AnswerCache(self.options.cache_dir)
        self._llama: Any = None
        self._identity: dict[str, object] | None = None
        self._turn = LoopSemaphore(1)
        """One request at a time: the model is one."""

    @property
    def model(self) -> str:
        return self.path.name

    def cache_key(self, request: ChatRequest) -> str:
        """The model file (its digest and size), the context, the protocol and the
        request: never the file's name alone."""
        if self._identity is None:
            self._identity = {"file": self._cache.file_digest(self.path),
                              "bytes": self.path.stat().st_size,
                              "context": self.settings.context}
        material = json.dumps({
            "protocol": PROTOCOL_VERSION, "model": self._identity, "seed": SEED,
            "messages": request.messages, "schema": request.schema,
            "max_tokens": request.max_tokens, "temperature": request.temperature,
        }, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    async def complete(self, request: ChatRequest) -> Completion:
        key = self.cache_key(request)
        cached = self._cache.get(key)
        if cached is not None:
            self.usage.add(cached)
            return cached
        async with self._turn.get():
            completion = await asyncio.to_thread(self._complete, request)
        if request.schema is not None:
            try:
                parse_answer(completion.text, request.schema)
            except SchemaError as exc:
                raise EngineError(f"the model's {request.purpose} is not usable JSON "
                                  f"({exc})") from None
        self._cache.put(key, completion, self.model)
        self.usage.add(completion)
        return completion

    def _load(self) -> Any:
        if self._llama is not None:
            return self._llama
        try:
            from llama_cpp import Llama
        except ImportError:
            raise InputError("[writer] model_path needs llama-cpp-python: pip install "
                             "'duopod[writer]'", self.settings.path) from None
        threads = self.settings.threads or max(1, os.cpu_count() or 1)
        try:
            with plain_cpu_buffers():
                self._llama = Llama(model_path=str(self.path), n_ctx=self.settings.context,
                                    n_threads=threads, n_threads_batch=threads, seed=SEED,
                                    verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise EngineError(f"{self.path.name}: cannot load the model ({exc})") from None
        return self._llama

    def _complete(self, request: ChatRequest) -> Completion:
        llama = self._load()
        messages = [{"role": role, "content": content} for role, content in request.messages]
        extra: dict[str, Any] = {}
        if request.schema is not None:
            extra["response_format"] = {"type": "json_object",
                                        "schema": grammar_schema(request.schema)}
        try:
            answer = llama.create_chat_completion(
                messages=messages, max_tokens=request.max_tokens,
                temperature=request.temperature, seed=SEED, **extra)
        except ValueError as exc:  # the prompt does not fit the context, mostly
            raise EngineError(f"{self.path.name}: {request.purpose}: {exc} (raise [writer] "
                              "context, or shorten the article)") from None
        choice = answer["choices"][0]
        usage = answer.get("usage") or {}
        return Completion(str(choice["message"].get("content") or ""),
                          int(usage.get("prompt_tokens") or 0),
                          int(usage.get("completion_tokens") or 0),
                          choice.get("finish_reason"), structured=request.schema is not None)

    async def close(self) -> None:
        if self._llama is not None:
            self._llama.close()
            self._llama = None


def grammar_schema(schema: JsonSchema) -> JsonSchema:
    """``schema`` without its string length limits, for llama.cpp's grammar (module
    docstring): every other constraint (types, required keys, enums, list sizes) stays."""
    kept: JsonSchema = {}
    for name, value in schema.items():
        if name == "maxLength":
            continue
        if name == "properties":
            kept[name] = {key: grammar_schema(sub) for key, sub in value.items()}
        elif name == "items":
            kept[name] = grammar_schema(value)
        else:
            kept[name] = value
    return kept


def make_engine(settings: WriterSettings, options: ChatOptions) -> LocalChatEngine:
    path = settings.model_path
    if path is None:
        raise InputError("the llama-cpp engine needs [writer] model_path (a GGUF file)",
                         settings.path)
    if not path.is_file():
        raise InputError(f"[writer] model_path: no such file {str(path)!r}", settings.path)
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise InputError(f"[writer] model_path: {path.name} is not a GGUF model file",
                             settings.path)
    return LocalChatEngine(settings, options)
