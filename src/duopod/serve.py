"""`duopod serve`: preview the published site over HTTP, as a podcast app would fetch it.

Built on aiohttp's server, whose file responses already do byte ranges, HEAD and
conditional requests (ETag, If-Modified-Since, If-Range) and send files with sendfile;
one event loop holds hundreds of connections, so a burst of clients or a few slow ones
cannot starve the rest. What is added here is what a preview of *this* site needs:

- the feed is built per request with its links pointing at the address the request came
  to (any spelling of its path: ``/feed``, ``/./feed.xml``, ``/%66eed.xml``), so an app
  on this machine or the LAN can subscribe; the feed on disk keeps show.toml's base URL;
- nothing outside ``episodes/`` and no dotfile (staging folders, locks, temporary
  files) is ever served, and hostile paths get a 4xx, never a traceback, but for the
  pending episodes (drafts, episodes not yet due) in ``.duopod/pending/``: their folders
  are served at ``/<slug>/`` as if they were published, and the preview feed lists them
  with ``[draft]`` or ``[scheduled …]`` before their titles (``publish.site.
  preview_records``), so a producer hears them in an app before anyone else can;
- a Range header that is not one well-formed byte range is ignored (RFC 9110 §14.2),
  so players get the whole file instead of an error;
- clients that dawdle are cut off: a request head must arrive in time, an idle
  keep-alive connection is closed, and a download must keep up a minimum rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import os
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from .errors import DuopodError
from .show.workspace import Workspace
from .site.feed import build_feed
from .site.render import preview_records
from .site.versions import language_of_feed

TYPES = {
    ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8", ".json": "application/json",
    ".html": "text/html; charset=utf-8", ".xml": "application/rss+xml; charset=utf-8",
    ".md": "text/markdown; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
FEED_PATHS = (("feed.xml",), ("feed",))
BACKLOG = 1024
"""Connections the kernel queues before the loop accepts them (Python's http.server
queued 5, so a burst of 200 clients lost a third of them)."""
MAX_PATH_BYTES = 2048
MAX_NAME_BYTES = 255
"""The longest file name Linux and macOS file systems allow."""
_SINGLE_RANGE = re.compile(r"bytes=(?:([0-9]{1,18})-([0-9]{0,18})|-([0-9]{1,18}))")
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
log = logging.getLogger("duopod.serve")


@dataclass(frozen=True)
class Limits:
    """How long a client may take before its connection is closed. The defaults suit a
    phone on a poor network; tests shorten them."""

    request_head: float = 10.0
    """Seconds from connecting to a complete first request line and headers."""
    keep_alive: float = 15.0
    """Seconds an idle keep-alive connection (or the next request's head) may take."""
    response_base: float = 30.0
    min_rate: float = 16 * 1024
    """A download may take ``response_base`` seconds plus its size at this many bytes per
    second; a client that reads slower (or not at all) is cut off."""

    def response_deadline(self, size: int) -> float:
        return self.response_base + size / self.min_rate


_WORKSPACE = web.AppKey("workspace", Workspace)
_LIMITS = web.AppKey("limits", Limits)
_WAITING = web.AppKey("waiting", set)
"""Connections that have not yet sent a complete first request."""


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or (
        "application/octet-stream")


def make_app(workspace: Workspace, limits: Limits | None = None) -> web.Application:
    """The preview as an aiohttp application: every GET and HEAD goes through one handler."""
    app = web.Application()
    app[_WORKSPACE] = workspace
    app[_LIMITS] = limits or Limits()
    app[_WAITING] = set()
    app.router.add_get("/{tail:.*}", _handle)  # HEAD too
    return app


def attach_preview(app: web.Application, workspace: Workspace
                   ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The preview's handler for another application (the studio's ``/site/``): its
    state goes into ``app``; the handler serves requests whose path is the site's."""
    app[_WORKSPACE] = workspace
    app[_LIMITS] = Limits()
    app[_WAITING] = set()
    return _handle


# ---------------------------------------------------------------- requests


class _Refused(Exception):
    """A request answered with an error status and a one-line body, never a traceback."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


async def _handle(request: web.Request) -> web.StreamResponse:
    request.app[_WAITING].discard(request.protocol)
    try:
        return await _respond(request)
    except _Refused as refused:
        return web.Response(status=refused.status, text=f"{refused}\n")


async def _respond(request: web.Request) -> web.StreamResponse:
    workspace = request.app[_WORKSPACE]
    parts = request_parts(request.path)
    if parts in FEED_PATHS:
        return await _preview_feed(request, workspace)
    language = language_of_feed(parts[0]) if len(parts) == 1 else None
    if language is not None and (workspace.episodes_dir / parts[0]).is_file():
        return await _preview_feed(request, workspace, language)
    target = _resolve(_root_for(workspace, parts), parts)
    feed = workspace.episodes_dir / "feed.xml"
    if _same_file(target, feed):
        return await _preview_feed(request, workspace)
    if target.is_dir():
        if not request.path.endswith("/"):
            location = "/" + "".join(quote(part) + "/" for part in parts)
            if request.rel_url.raw_query_string:
                location += "?" + request.rel_url.raw_query_string
            raise web.HTTPMovedPermanently(location)  # relative links need the slash
        target = target / "index.html"
    if not target.is_file():
        raise _Refused(404, "not found")
    return await _send_file(request, target)


def request_parts(path: str) -> tuple[str, ...]:
    """The decoded request path as folder and file names, dot segments applied; refuses
    what no file here can be named (NUL and control characters, over-long names) and
    anything that would climb out of the site."""
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise _Refused(414, "path too long")
    if any(ord(char) < 32 or ord(char) == 127 for char in path):
        raise _Refused(400, "control character in path")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise _Refused(404, "not found")
            parts.pop()
            continue
        if part.startswith(".") or len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise _Refused(404, "not found")  # dotfiles: staging folders, locks, temp files
        parts.append(part)
    return tuple(parts)


def _root_for(workspace: Workspace, parts: tuple[str, ...]) -> Path:
    """``episodes/``, or ``.duopod/pending/`` for a path into a pending episode's folder
    that no published folder has the name of."""
    if parts and not (workspace.episodes_dir / parts[0]).exists() \
            and (workspace.pending_dir / parts[0]).is_dir():
        return workspace.pending_dir
    return workspace.episodes_dir


def _resolve(root: Path, parts: tuple[str, ...]) -> Path:
    """The file or folder the parts name, refusing symbolic links that lead outside the
    site or into a dot folder."""
    try:
        base = root.resolve()
        target = base.joinpath(*parts).resolve()
    except (OSError, ValueError, RuntimeError):
        raise _Refused(404, "not found") from None
    if not target.is_relative_to(base) or any(
        part.startswith(".") for part in target.relative_to(base).parts
    ):
        raise _Refused(404, "not found")
    return target


def _same_file(path: Path, other: Path) -> bool:
    try:
        return path.samefile(other)
    except OSError:
        return False


async def _preview_feed(request: web.Request, workspace: Workspace,
                        language: str | None = None) -> web.Response:
    """``feed.xml``, or a version language's ``feed-LANG.xml``, pointing at the preview."""
    base = f"http://{_request_host(request)}"
    show = replace(workspace.show, base_url=base)
    try:
        body = await asyncio.to_thread(
            lambda: build_feed(show, preview_records(workspace), base_url=base,
                               language=language))
    except DuopodError as exc:
        log.warning("feed: %s", exc)
        raise _Refused(500, f"cannot build the feed: {exc}") from None
    return web.Response(body=body, content_type="application/rss+xml", charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


def _request_host(request: web.Request) -> str:
    """The Host the client used, when it is a plain host[:port]; else the address the
    connection came in on (a forged Host cannot put markup into the feed)."""
    host = request.headers.get("Host", "")
    if _HOST.fullmatch(host):
        return host
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if not sockname:
        return "127.0.0.1"
    address = f"[{sockname[0]}]" if ":" in sockname[0] else sockname[0]
    return f"{address}:{sockname[1]}"


# ---------------------------------------------------------------- files


def usable_range(header: str | None) -> str | None:
    """``header`` when it is one well-formed byte range, else None: RFC 9110 lets a
    server ignore a Range it will not honour and answer 200 with the whole file, which is
    what players cope with (aiohttp would answer 416 to ``bytes=0-0,10-20``)."""
    if header is None:
        return None
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if not match:
        return None
    first, last = match.group(1), match.group(2)
    if first is not None and last and int(last) < int(first):
        return None
    return header.strip()


def _zero_suffix(header: str) -> bool:
    """``bytes=-0``: well formed but asks for nothing, so it cannot be satisfied (aiohttp
    would send the whole file as a 206)."""
    match = _SINGLE_RANGE.fullmatch(header)
    return bool(match and match.group(3) is not None and int(match.group(3)) == 0)


class _FileResponse(web.FileResponse):
    """A file response sent inside the handler (under its deadline): aiohttp's own later
    call to ``prepare`` must then do nothing, where FileResponse would start over."""

    async def prepare(self, request: web.BaseRequest) -> Any:
        if self.prepared:
            return None
        return await super().prepare(request)


def _stale_if_range(request: web.Request, stat: os.stat_result) -> bool:
    """Does an If-Range entity tag name another version of the file? aiohttp reads
    If-Range only as a date and would send a range of a changed file, which corrupts a
    resumed download; a tag that is not the current one gets the whole file instead
    (the tag is aiohttp's own: modification time and size)."""
    condition = request.headers.get("If-Range", "").strip()
    if not condition.startswith(('"', "W/")):
        return False
    return condition != f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


async def _send_file(request: web.Request, path: Path) -> web.StreamResponse:
    try:
        stat = path.stat()
    except OSError:
        raise _Refused(404, "not found") from None  # replaced or removed meanwhile
    size = stat.st_size
    wanted = request.headers.get("Range")
    if wanted is not None:
        kept = usable_range(wanted)
        if kept is None or _stale_if_range(request, stat):
            request = request.clone(headers=_without(request, "Range"))
        elif _zero_suffix(kept):
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
    response = _FileResponse(path, headers={"Content-Type": content_type(path),
                                            "Cache-Control": "no-cache"})
    try:
        async with asyncio.timeout(request.app[_LIMITS].response_deadline(size)):
            await response.prepare(request)
            await response.write_eof()
    except (TimeoutError, ConnectionError) as exc:
        # a client too slow for the deadline, or one that hung up (players do, to seek)
        if isinstance(exc, TimeoutError):
            log.info("%s: client too slow, connection closed", request.path)
        _drop(request)
    except OSError:
        if not response.prepared:
            raise _Refused(404, "not found") from None
        _drop(request)
    return response


def _drop(request: web.Request) -> None:
    """Close the connection at once; aiohttp then finishes the response quietly."""
    if request.transport is not None:
        request.transport.abort()


def _without(request: web.Request, name: str) -> dict[str, str]:
    return {key: value for key, value in request.headers.items() if key.lower() != name.lower()}


# ---------------------------------------------------------------- running


@dataclass
class Preview:
    """A running preview: where it listens, and how to stop it."""

    host: str
    port: int
    runner: web.AppRunner
    server: asyncio.Server

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        self.server.close()
        await self.runner.cleanup()


async def start(workspace: Workspace, host: str = "127.0.0.1", port: int = 8000,
                limits: Limits | None = None) -> Preview:
    """Listen on ``host``:``port`` (0: any free port) and serve until ``close``. The
    socket is opened here rather than by aiohttp's TCPSite so that connections that never
    send a request are closed too (``Limits.request_head``)."""
    limits = limits or Limits()
    app = make_app(workspace, limits)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=limits.keep_alive,
                           handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    loop = asyncio.get_running_loop()
    assert runner.server is not None  # set up just above
    factory = _head_deadline(runner.server, app[_WAITING], limits.request_head, loop)
    server = await loop.create_server(factory, host, port, backlog=BACKLOG, reuse_address=True)
    bound = server.sockets[0].getsockname()
    return Preview(bound[0], bound[1], runner, server)


def _head_deadline(factory: Callable[[], Any], waiting: set[Any], seconds: float,
                   loop: asyncio.AbstractEventLoop) -> Callable[[], Any]:
    """Wrap aiohttp's protocol factory so a connection whose first request has not arrived
    within ``seconds`` is closed (older aiohttp releases wait forever for it). The handler
    takes a connection out of ``waiting``; the set only ever holds young or silent ones."""

    def make() -> Any:
        protocol = factory()
        waiting.add(protocol)
        loop.call_later(seconds, _close_if_silent, protocol, waiting)
        return protocol

    return make


def _close_if_silent(protocol: Any, waiting: set[Any]) -> None:
    if protocol not in waiting:
        return
    waiting.discard(protocol)
    transport = getattr(protocol, "transport", None)
    if transport is not None:
        transport.close()


def run(workspace: Workspace, host: str = "127.0.0.1", port: int = 8000,
        ready: Callable[[Preview], None] | None = None, limits: Limits | None = None) -> None:
    """Serve until interrupted (Ctrl-C raises KeyboardInterrupt out of here); ``ready`` is
    told the bound address once the socket listens."""
    _quiet_logging()

    async def main() -> None:
        preview = await start(workspace, host, port, limits)
        if ready:
            ready(preview)
        try:
            await asyncio.Event().wait()
        finally:
            await preview.close()

    asyncio.run(main())


@contextlib.contextmanager
def in_background(workspace: Workspace, host: str = "127.0.0.1", port: int = 0,
                  limits: Limits | None = None) -> Iterator[Preview]:
    """The preview on its own thread and event loop, for tests and for embedding."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        preview = asyncio.run_coroutine_threadsafe(
            start(workspace, host, port, limits), loop).result(30)
        try:
            yield preview
        finally:
            asyncio.run_coroutine_threadsafe(preview.close(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class _OneLine(logging.Formatter):
    """Server problems as one line each: what happened, never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f": {exc.__class__.__name__}: {exc}"
        return f"serve: {text}"


def _quiet_logging() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_OneLine())
    for name in ("aiohttp", "duopod.serve"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.WARNING)
