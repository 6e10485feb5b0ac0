"""What a chat engine is asked and what it answers: plain data, no HTTP."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .schema import JsonSchema


@dataclass(frozen=True)
class ChatOptions:
    """How hard one command leans on the server."""

    retry_for: float = 120.0
    """Seconds a failing request keeps being retried (backing off) before the command stops."""
    deadline: float = 300.0
    """Seconds one request may take in all, however slowly the server drips its answer."""
    concurrency: int = 2
    """Requests in flight at once."""
    max_body: int = 2_000_000
    """Bytes of answer read at most: a server that sends more is cut off."""
    stream: bool = True
    """Ask for server-sent events (the answer arrives as it is made)."""
    cache_dir: Path | None = None
    """Where answers are kept (keyed by model, prompt version and input); None: nowhere."""


@dataclass(frozen=True)
class ChatRequest:
    """One question: messages, and the JSON schema the answer must follow (None: text)."""

    purpose: str
    """What the answer is for ("outline", "movement 2"): named in errors."""
    messages: tuple[tuple[str, str], ...]
    """(role, content) pairs."""
    schema: JsonSchema | None = None
    max_tokens: int = 1024
    temperature: float = 0.4


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    cached: bool = False
    structured: bool = False
    """True when the server enforced the schema (``response_format: json_schema``)."""


@dataclass
class Usage:
    """What a command cost, for the line printed at its end."""

    requests: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    uncounted: int = 0
    """Answers the server gave no token counts for (llama-cpp-python when streaming)."""
    started: float = field(default_factory=time.monotonic)

    def add(self, completion: Completion) -> None:
        self.requests += 1
        if completion.cached:
            self.cached += 1
            return
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        if not completion.completion_tokens and completion.text:
            self.uncounted += 1

    def line(self, price_prompt: float | None = None, price_completion: float | None = None
             ) -> str:
        """``writer: 5 requests (2 cached), 812 prompt + 640 completion tokens, 3.2 s, ...``"""
        seconds = time.monotonic() - self.started
        cost = ("cost not priced (set [writer] price_prompt / price_completion, USD per "
                "million tokens)")
        if price_prompt is not None or price_completion is not None:
            dollars = (self.prompt_tokens * (price_prompt or 0)
                       + self.completion_tokens * (price_completion or 0)) / 1e6
            cost = f"cost ${dollars:.4f}"
        uncounted = (f" ({self.uncounted} answers without token counts from the server)"
                     if self.uncounted else "")
        return (f"writer: {self.requests} requests ({self.cached} cached), "
                f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens"
                f"{uncounted}, {seconds:.1f} s, {cost}")


class ChatEngine(Protocol):
    """A chat engine, made by its spec's factory for one command."""

    name: str
    usage: Usage

    @property
    def model(self) -> str:
        """Part of every cache key."""
        ...

    async def complete(self, request: ChatRequest) -> Completion:
        """The model's answer; EngineError when it cannot be had. With a schema the text is
        JSON that follows it (validated, whatever the server claims)."""
        ...
