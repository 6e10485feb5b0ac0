"""The bounds every HTTP client of duopod keeps with a server it does not trust, in one
place so that the speech engine (``speech.engines.openai``) and the chat engine
(``draft.openai``) cannot drift apart (docs/security.md):

- what is retried (429, 5xx, time-outs) and how long: a budget in seconds, exponential
  backoff with jitter, a server's Retry-After obeyed but clamped to at least a second and
  never waited past the budget (then the command stops at once);
- every answer's body is read in chunks and abandoned past a limit, never held whole;
- redirects: what counts as the same origin (scheme, host, port), for a client that follows
  only those;
- secrets: the key, the credentials of a ``user:password@`` base URL (as given, decoded,
  and as the Basic header aiohttp makes of them) and anything shaped like a key or an
  Authorization header are blanked from every message, since servers echo them back.

No aiohttp at import time (it is only named for type checkers): the clients load it when
they first send a request.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import random
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlparse

from .answers import AnswerError, read_json
from .errors import EngineError

if TYPE_CHECKING:
    import aiohttp

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
"""Statuses worth asking again: throttled, overloaded, or a time-out on the server's side."""
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MIN_RETRY_AFTER = 1.0
"""A Retry-After of 0 or less is read as this: no server gets hammered by its own answer."""
ERROR_BODY_BYTES = 64 * 1024
"""An error body is read no further than this: a message, not a payload."""
SHORTEST_SECRET = 6
"""Shorter "keys" (x, none, local) are placeholders for local servers: not blanked."""


class Retryable(Exception):
    """A failure worth another attempt, with the server's Retry-After when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep retrying one request (``budget`` seconds, counted from the first
    failure), and how long to wait between attempts.

    Waits grow exponentially from ``base_delay`` to ``max_delay``, each a random point in
    the upper half of its range, so throttled requests do not come back in step; a server's
    Retry-After is obeyed instead (with a little jitter), unless it reaches past the budget:
    then waiting is pointless and the command stops at once."""

    budget: float = 180.0
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, retry: int, used: float, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``retry`` (0 for the first), with ``used``
        seconds of the budget gone; None when the budget is spent."""
        left = self.budget - used
        if left <= 0:
            return None
        if retry_after is not None:  # clamped to [1 s, what is left of the budget]
            if retry_after > left:
                return None
            wait = max(MIN_RETRY_AFTER, retry_after)
            return wait + random.uniform(0, self.base_delay / 4)  # noqa: S311
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(retry, 60))
        return min(left, random.uniform(ceiling / 2, ceiling))  # noqa: S311


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class LoopSemaphore:
    """A bound on requests in flight, remade when a command runs a new event loop (a
    semaphore belongs to the loop it was first used in)."""

    def __init__(self, size: int):
        self.size = size
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Semaphore(self.size))
        return self._gate[1]


# ---------------------------------------------------------------- addresses and secrets


def host_of(base_url: str) -> str:
    """Host and port only: what errors name (never a user:password in the URL)."""
    url = urlparse(base_url)
    return f"{url.hostname}:{url.port}" if url.port else str(url.hostname)


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port), the port filled in for http and https."""
    parsed = urlparse(url)
    port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme)
    return parsed.scheme, (parsed.hostname or "").lower(), port


def url_secrets(base_url: str) -> list[str]:
    """What a server could echo of the credentials in ``base_url``: the password, and the
    Basic header aiohttp makes of user:password."""
    parsed = urlparse(base_url)
    if parsed.password is None:
        return []
    pair = f"{unquote(parsed.username or '')}:{unquote(parsed.password)}"
    return [unquote(parsed.password), parsed.password,
            base64.b64encode(pair.encode()).decode()]


def redact(text: str, secrets: Sequence[str | None]) -> str:
    """``text`` with each secret, any Authorization value and anything shaped like an API
    key (``sk-...``, ``key-...``) blanked out: servers echo a rejected key back in their
    error messages, and not always as sent: a secret is found in any case, with spaces
    or punctuation between its characters, percent-encoded, in hex, and inside base64
    (standard or URL-safe, at any alignment: ``base64("Bearer " + key)`` too)."""
    for secret in secrets:
        if secret and len(secret) >= SHORTEST_SECRET:
            text = _blank_secret(text, secret)
    text = re.sub(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9+/=._~\-]+", r"\1 ***", text)
    return re.sub(r"\b(sk|key)-[A-Za-z0-9_\-*.]{3,}", r"\1-***", text)


def _blank_secret(text: str, secret: str) -> str:
    spaced = r"[\s\W_]{0,3}".join(re.escape(char) for char in secret)
    text = re.sub(spaced, "***", text, flags=re.IGNORECASE)
    raw = secret.encode()
    for form in (quote(secret, safe=""), raw.hex(), *_base64_cores(raw)):
        if len(form) >= SHORTEST_SECRET:
            text = re.sub(re.escape(form), "***", text, flags=re.IGNORECASE
                          if form == raw.hex() or form.startswith("%") else 0)
    return text


def _base64_cores(raw: bytes) -> list[str]:
    """The base64 characters that depend on ``raw`` alone, for each of the three offsets
    it can sit at inside a longer encoded text (standard and URL-safe alphabets)."""
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + raw).decode()
        first = -(-8 * offset // 6)  # the first character made of raw's bits only
        last = (8 * (offset + len(raw)) - 6) // 6  # the last such character
        core = encoded[first:last + 1]
        cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


# ---------------------------------------------------------------- answers


async def bounded_chunks(response: aiohttp.ClientResponse, limit: int, where: str = ""
                         ) -> AsyncIterator[bytes]:
    """The body as it arrives, abandoned with EngineError past ``limit`` bytes (a declared
    Content-Length over it is refused before a byte is read). ``where``: the message's
    prefix, such as ``"127.0.0.1:8080: "``."""
    if (response.content_length or 0) > limit:
        raise EngineError(f"{where}the server's answer of {response.content_length} bytes is "
                          f"larger than {limit} bytes; not read")
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise EngineError(f"{where}the server's answer is larger than {limit} bytes; "
                              "cut off")
        yield chunk


async def bounded_body(response: aiohttp.ClientResponse, limit: int, where: str = ""
                       ) -> bytes:
    """The whole body, within ``limit`` bytes (see ``bounded_chunks``)."""
    return b"".join([chunk async for chunk in bounded_chunks(response, limit, where)])


def error_message(body: str, length: int = 200) -> str:
    """A server's own message from its error body (OpenAI's {"error": {"message": ...}},
    FastAPI's {"detail": ...}, or plain text), short, on one line. The body is read by
    ``answers.read_json`` (64 KiB, 32 levels at most): one nested too deep, or shaped
    otherwise, is shown as the text it is."""
    message: Any = body
    try:
        parsed = read_json(body, "", "the error", limit=ERROR_BODY_BYTES)
    except AnswerError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        message = (error.get("message") if isinstance(error, dict) else error) \
            or parsed.get("detail") or parsed.get("message") or body
        if not isinstance(message, str):  # {"detail": [{"msg": ...}]}, as FastAPI sends
            message = json.dumps(message, ensure_ascii=False)
    return " ".join(message.split())[:length]


async def error_detail(response: aiohttp.ClientResponse, limit: int = ERROR_BODY_BYTES
                       ) -> str:
    """``error_message`` of a refusal's body, read within ``limit`` bytes ("" when it cannot
    be read: the status says enough)."""
    import aiohttp

    try:
        body = (await bounded_body(response, limit)).decode(errors="replace")
    except (aiohttp.ClientError, OSError, TimeoutError, EngineError):
        return ""
    return error_message(body)
