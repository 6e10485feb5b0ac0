"""`duopod serve`: preview the published site over HTTP, as a podcast app would fetch it.

Unlike Python's http.server this answers HEAD and byte Range requests (players and podcast
apps seek and resume with them) and serves the feed with its links pointing at the address
the request came to, so an app on this machine or the LAN can subscribe to the preview.
The feed on disk keeps the public base URL from show.toml.
"""

from __future__ import annotations

import email.utils
import mimetypes
import re
from dataclasses import replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .publish.episodes import load_records
from .publish.feed import build_feed
from .workspace import Workspace

TYPES = {
    ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8", ".json": "application/json",
    ".html": "text/html; charset=utf-8", ".xml": "application/rss+xml; charset=utf-8",
    ".md": "text/markdown; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_COPY_CHUNK = 1 << 16


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or (
        "application/octet-stream")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes of a single-range header; None when it cannot be met."""
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            return None
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


class PreviewHandler(BaseHTTPRequestHandler):
    workspace: Workspace
    server_version = "duopod-preview"
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the CLI prints the address once

    def _respond(self, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path in ("/feed.xml", "/feed"):
            self._send_bytes(self._preview_feed(), TYPES[".xml"], send_body)
            return
        target = self._resolve(path)
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return
        self._send_file(target, send_body)

    def _resolve(self, path: str) -> Path | None:
        root = self.workspace.episodes_dir.resolve()
        candidate = (root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(root) or any(
            part.startswith(".") for part in candidate.relative_to(root).parts
        ):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    def _preview_feed(self) -> bytes:
        address = self.server.server_address
        host = self.headers.get("Host") or f"{address[0]}:{address[1]}"
        base = f"http://{host}"
        show = replace(self.workspace.show, base_url=base)
        return build_feed(show, load_records(self.workspace), base_url=base)

    def _send_bytes(self, data: bytes, kind: str, send_body: bool) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _send_file(self, path: Path, send_body: bool) -> None:
        size = path.stat().st_size
        modified = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
        wanted = self.headers.get("Range")
        first, last = 0, size - 1
        status = HTTPStatus.OK
        if wanted:
            bounds = parse_range(wanted, size)
            if bounds is None:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first, last = bounds
            status = HTTPStatus.PARTIAL_CONTENT
        self.send_response(status)
        self.send_header("Content-Type", content_type(path))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", modified)
        self.send_header("Content-Length", str(max(0, last - first + 1)))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        if not send_body or size == 0:
            return
        with path.open("rb") as handle:
            handle.seek(first)
            remaining = last - first + 1
            try:
                while remaining > 0:
                    block = handle.read(min(_COPY_CHUNK, remaining))
                    if not block:
                        break
                    self.wfile.write(block)
                    remaining -= len(block)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading (a player seeking elsewhere)


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client hanging up mid-transfer (players do, when they seek) is not an error."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def make_server(workspace: Workspace, host: str = "127.0.0.1", port: int = 8000
                ) -> PreviewServer:
    handler = type("Handler", (PreviewHandler,), {"workspace": workspace})
    return PreviewServer((host, port), handler)

