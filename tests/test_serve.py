"""`duopod serve` against what clients really send: bursts, slow and silent connections,
hostile paths, odd Range headers, every spelling of the feed's path (issue 11, defect 5)."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from duopod.serve import TYPES, Limits, Preview, in_background
from duopod.show.workspace import load_workspace

SLUG = "2025-12-10-chips"
AUDIO = os.urandom(300_000)
RSS = "application/rss+xml; charset=utf-8"


def add_episode(show: Path, slug: str = SLUG, audio: bytes = AUDIO) -> Path:
    """A published episode folder as publish leaves it (what serve reads), without the
    cost of a build."""
    folder = show / "episodes" / slug
    folder.mkdir(parents=True)
    (folder / f"{slug}.mp3").write_bytes(audio)
    (folder / "index.html").write_text("<!doctype html><title>t</title>", encoding="utf-8")
    (folder / "transcript.vtt").write_text("WEBVTT\n", encoding="utf-8")
    (folder / "transcript.srt").write_text("1\n", encoding="utf-8")
    (folder / "notes.md").write_text("# t\n", encoding="utf-8")
    record = {
        "slug": slug, "title": "芯片之争", "guid": "guid-1", "description": "d",
        "description_html": "<p>d</p>", "published": "2025-12-10T08:00:00+00:00",
        "episode": 1, "duration": 60.0, "hosts": ["雷总", "董小姐"], "script": "s.md",
        "audio": {"file": f"{slug}.mp3", "bytes": len(audio), "mime": "audio/mpeg"},
        "transcripts": {"vtt": "transcript.vtt"}, "chapters_file": None,
        "version": 3, "date": "2025-12-10", "language": "zh-CN", "engine": "espeak",
    }
    (folder / "episode.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


@pytest.fixture
def site(show: Path) -> Path:
    add_episode(show)
    (show / "episodes" / "feed.xml").write_text("<rss>the public feed</rss>", encoding="utf-8")
    (show / "episodes" / "empty.json").write_bytes(b"")
    staging = show / "episodes" / f".staging-123-{SLUG}"
    staging.mkdir()
    (staging / "index.html").write_text("half-built", encoding="utf-8")
    (show / "episodes" / ".index.html.42.tmp").write_text("temp", encoding="utf-8")
    (show / "episodes" / SLUG / ".secret").write_text("no", encoding="utf-8")
    (show / "episodes" / "outside").symlink_to(show)  # a link that leads out of the site
    (show / "episodes" / "inside-staging").symlink_to(staging)
    return show


@pytest.fixture
def server(site: Path) -> Iterator[Preview]:
    with in_background(load_workspace(site)) as preview:
        yield preview


def request(server: Preview, path: str, method: str = "GET", headers: dict | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    """One request sent exactly as written (http.client does not normalise the path)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# ---------------------------------------------------------------- files and ranges


def test_head_get_ranges_and_types(server: Preview) -> None:
    url = f"/{SLUG}/{SLUG}.mp3"
    status, headers, body = request(server, url, "HEAD")
    assert (status, headers["Content-Type"], int(headers["Content-Length"]), body) == (
        200, "audio/mpeg", len(AUDIO), b"")
    assert headers["Accept-Ranges"] == "bytes"
    status, headers, body = request(server, url, headers={"Range": "bytes=100-199"})
    assert (status, headers["Content-Range"], body) == (
        206, f"bytes 100-199/{len(AUDIO)}", AUDIO[100:200])
    assert request(server, url, headers={"Range": "bytes=-10"})[2] == AUDIO[-10:]
    assert request(server, url, headers={"Range": "bytes=299990-"})[2] == AUDIO[-10:]
    status, headers, _ = request(server, url, headers={"Range": f"bytes={len(AUDIO)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(AUDIO)}"
    for name, suffix in (("index.html", ".html"), ("transcript.vtt", ".vtt"),
                         ("transcript.srt", ".srt"), ("notes.md", ".md"),
                         ("episode.json", ".json")):
        status, headers, _ = request(server, f"/{SLUG}/{name}")
        assert status == 200 and headers["Content-Type"] == TYPES[suffix], name


@pytest.mark.parametrize("header", ["bytes=0-0,10-20", "bytes=5-2", "items=0-1", "bytes=abc",
                                    "bytes=1-2-3", "bytes=", "bytes=--5", "bytes=¹-²",
                                    "bytes=0-99999999999999999999999"])
def test_a_range_that_is_not_one_well_formed_byte_range_is_ignored(server: Preview, header: str
                                                                   ) -> None:
    status, headers, body = request(server, f"/{SLUG}/{SLUG}.mp3", headers={"Range": header})
    assert (status, body == AUDIO) == (200, True) and "Content-Range" not in headers


def test_empty_file_and_zero_suffix(server: Preview) -> None:
    status, headers, body = request(server, "/empty.json")
    assert (status, headers["Content-Length"], body) == (200, "0", b"")
    assert "Content-Range" not in headers
    status, headers, _ = request(server, "/empty.json", headers={"Range": "bytes=0-"})
    assert status == 416 and headers["Content-Range"] == "bytes */0"
    status, headers, body = request(server, f"/{SLUG}/{SLUG}.mp3", headers={"Range": "bytes=-0"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(AUDIO)}"


def test_conditional_requests(server: Preview) -> None:
    url = f"/{SLUG}/{SLUG}.mp3"
    _, headers, _ = request(server, url, "HEAD")
    assert request(server, url, headers={"If-None-Match": headers["Etag"]})[0] == 304
    assert request(server, url, headers={"If-Modified-Since": headers["Last-Modified"]}
                   )[0] == 304
    status, _, body = request(server, url, headers={"Range": "bytes=0-9",
                                                    "If-Range": '"not-the-etag"'})
    assert status == 200 and body == AUDIO  # changed since: the whole file
    status, _, body = request(server, url, headers={"Range": "bytes=0-9",
                                                    "If-Range": headers["Etag"]})
    assert status == 206 and body == AUDIO[:10]
    status, _, body = request(server, url, headers={"Range": "bytes=0-9",
                                                    "If-Range": "Tue, 01 Jan 2019 00:00:00 GMT"})
    assert status == 200 and body == AUDIO


# ---------------------------------------------------------------- paths


def test_a_folder_without_its_slash_is_redirected(server: Preview) -> None:
    status, headers, _ = request(server, f"/{SLUG}?from=app")
    assert status == 301 and headers["Location"] == f"/{SLUG}/?from=app"
    status, headers, body = request(server, f"/{SLUG}/")
    assert status == 200 and headers["Content-Type"] == TYPES[".html"] and b"<title>" in body
    status, headers, _ = request(server, f"//{SLUG}")  # never a protocol-relative Location
    assert status == 301 and headers["Location"] == f"/{SLUG}/"


@pytest.mark.parametrize(("path", "statuses"), [
    ("/" + "a" * 300, {404}), (f"/{SLUG}/" + "b" * 300 + ".mp3", {404}),
    ("/" + "c/" * 1100, {414}), ("/%00", {400}), (f"/{SLUG}/a%00b.mp3", {400}),
    ("/%0d%0aSet-Cookie:x", {400, 404}), ("/../show.toml", {404}), ("/%2e%2e/show.toml", {404}),
    (f"/{SLUG}/../../show.toml", {404}), (f"/.staging-123-{SLUG}/index.html", {404}),
    ("/.index.html.42.tmp", {404}), (f"/{SLUG}/.secret", {404}), ("/outside/show.toml", {404}),
    ("/inside-staging/index.html", {404}), ("/%ff%fe", {404}), ("/nothing-here", {404}),
])
def test_hostile_paths_get_a_4xx_and_no_traceback(server: Preview, path: str, statuses: set,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for method in ("GET", "HEAD"):
        assert request(server, path, method)[0] in statuses, (method, path)
    assert request(server, f"/{SLUG}/", "HEAD")[0] == 200  # still serving
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("path", ["/feed.xml", "/feed", "/./feed.xml", "//feed.xml",
                                  f"/{SLUG}/../feed.xml", "/%66eed.xml", "/feed.xml?x=1",
                                  "/%2E/feed.xml"])
def test_every_spelling_of_the_feed_gets_the_preview_feed(server: Preview, path: str) -> None:
    status, headers, body = request(server, path, headers={"Host": "studio.local:8123"})
    assert status == 200 and headers["Content-Type"] == RSS, path
    root = ET.fromstring(body)
    enclosure = root.find("channel/item/enclosure")
    assert enclosure.get("url") == f"http://studio.local:8123/{SLUG}/{SLUG}.mp3"
    assert b"podcast.example.com" not in body and b"the public feed" not in body
    status, headers, body = request(server, path, "HEAD")
    assert status == 200 and headers["Content-Type"] == RSS and body == b""


def test_a_forged_host_cannot_reach_into_the_feed(server: Preview) -> None:
    _, _, body = request(server, "/feed.xml", headers={"Host": 'evil"><x y="'})
    enclosure = ET.fromstring(body).find("channel/item/enclosure")
    assert enclosure.get("url") == f"{server.url}/{SLUG}/{SLUG}.mp3"


def test_pending_episodes_are_previewed_marked_and_never_in_episodes(site: Path) -> None:
    """Issue 27.4: a draft waits in .duopod/pending/ (out of the deployed folder); the
    preview serves its folder and lists it, marked, for a real feed parser."""
    import io

    import podcastparser

    draft = add_episode(site, "2025-12-20-draft", audio=b"ID3" + os.urandom(5000))
    record = json.loads((draft / "episode.json").read_text(encoding="utf-8"))
    record.update(status="draft", episode=0, guid="guid-draft",
                  published="2025-12-20T08:00:00+00:00")
    (draft / "episode.json").write_text(json.dumps(record), encoding="utf-8")
    pending = site / ".duopod" / "pending"
    pending.mkdir(parents=True)
    draft.rename(pending / draft.name)
    (pending / draft.name / ".secret").write_text("no", encoding="utf-8")
    with in_background(load_workspace(site)) as server:
        status, _, body = request(server, "/2025-12-20-draft/")
        assert status == 200 and body.startswith(b"<!doctype html>")
        assert request(server, "/2025-12-20-draft/.secret")[0] == 404
        assert request(server, "/.duopod/pending/2025-12-20-draft/")[0] == 404
        _, _, feed = request(server, "/feed.xml")
    parsed = podcastparser.parse(f"{server.url}/feed.xml", io.BytesIO(feed))
    titles = {e["guid"]: e["title"] for e in parsed["episodes"]}
    assert titles == {"guid-1": "芯片之争", "guid-draft": "[draft] 芯片之争"}
    item = next(i for i in ET.fromstring(feed).iter("item") if "draft" in i.findtext("title"))
    assert item.find("{http://www.itunes.com/dtds/podcast-1.0.dtd}episode") is None
    assert item.find("enclosure").get("url") == \
        f"{server.url}/2025-12-20-draft/2025-12-20-draft.mp3"


# ---------------------------------------------------------------- slow clients


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes ``sock`` (reading and discarding), or None."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if not sock.recv(1 << 16):
                return time.monotonic() - start
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    return None


QUICK = Limits(request_head=0.6, keep_alive=0.6, response_base=0.6, min_rate=20e6)


def test_silent_dawdling_and_slow_reading_clients_are_cut_off(site: Path) -> None:
    big = add_episode(site, "2025-12-11-big", os.urandom(24_000_000))
    with in_background(load_workspace(site), limits=QUICK) as server:
        silent = socket.create_connection(("127.0.0.1", server.port))
        dawdler = socket.create_connection(("127.0.0.1", server.port))
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.connect(("127.0.0.1", server.port))
        reader.sendall(f"GET /{big.name}/{big.name}.mp3 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        idle = socket.create_connection(("127.0.0.1", server.port))
        idle.sendall(f"HEAD /{SLUG}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())

        def dawdle() -> None:
            with __import__("contextlib").suppress(OSError):
                for char in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                    dawdler.send(bytes([char]))
                    time.sleep(0.05)

        threading.Thread(target=dawdle, daemon=True).start()
        time.sleep(2.0)  # the reader reads nothing meanwhile
        waits = {name: _closed_within(sock, 3.0) for name, sock in
                 (("silent", silent), ("dawdler", dawdler), ("idle", idle))}
        assert all(wait is not None for wait in waits.values()), waits
        received = 0
        reader.settimeout(3.0)
        try:
            while chunk := reader.recv(1 << 20):
                received += len(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        assert received < 24_000_000  # cut off, not waited for
        assert request(server, f"/{SLUG}/", "HEAD")[0] == 200
        for sock in (silent, dawdler, reader, idle):
            sock.close()


def test_a_silent_connection_is_closed_by_our_own_deadline(site: Path) -> None:
    """Not only by aiohttp's keep-alive timer, which older releases do not start until a
    first request has been answered."""
    limits = Limits(request_head=0.5, keep_alive=60.0)
    with in_background(load_workspace(site), limits=limits) as server:
        silent = socket.create_connection(("127.0.0.1", server.port))
        talker = socket.create_connection(("127.0.0.1", server.port))
        talker.sendall(f"HEAD /{SLUG}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        wait = _closed_within(silent, 5.0)
        assert wait is not None and wait < 2.0
        talker.settimeout(0.2)
        assert talker.recv(100).startswith(b"HTTP/1.1 200")  # its answer
        assert _closed_within(talker, 1.5) is None  # and, having spoken, it may stay
        silent.close()
        talker.close()


@pytest.mark.slow
def test_a_burst_of_200_clients_is_answered_while_50_slow_ones_hang_on(site: Path) -> None:
    """The load test: 200 concurrent GETs (pages, feed, whole and ranged audio) all answered
    correctly within a few seconds while 25 silent and 25 never-reading clients hold
    connections; loopback only, bounded in time."""
    big = add_episode(site, "2025-12-11-big", os.urandom(8_000_000))
    with in_background(load_workspace(site)) as server:
        slow = _slow_clients(server.port, big.name, 25, 25)
        try:
            elapsed, failures = asyncio.run(_burst(server.port, 200))
        finally:
            for sock in slow:
                sock.close()
    print(f"\n200 concurrent requests with 50 slow clients: {elapsed:.2f} s")
    assert failures == []
    assert elapsed < 10.0


def _slow_clients(port: int, big: str, silent: int, readers: int) -> list[socket.socket]:
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(silent)]
    for _ in range(readers):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET /{big}/{big}.mp3 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        socks.append(sock)
    return socks


def _expectations(index: int) -> tuple[str, dict[str, str], int, bytes | None]:
    """Request ``index`` of the burst: path, headers, expected status and body."""
    kind = index % 5
    if kind == 0:
        return f"/{SLUG}/{SLUG}.mp3", {}, 200, AUDIO
    if kind == 1:
        first = index * 997 % (len(AUDIO) - 5000)
        return (f"/{SLUG}/{SLUG}.mp3", {"Range": f"bytes={first}-{first + 4095}"}, 206,
                AUDIO[first:first + 4096])
    if kind == 2:
        return f"/{SLUG}/{SLUG}.mp3", {"Range": "bytes=0-0,10-20"}, 200, AUDIO
    if kind == 3:
        return "/feed.xml", {}, 200, None
    return f"/{SLUG}/", {}, 200, b"<!doctype html><title>t</title>"


async def _burst(port: int, count: int) -> tuple[float, list[str]]:
    start = time.monotonic()
    results = await asyncio.wait_for(
        asyncio.gather(*(_one(port, i) for i in range(count)), return_exceptions=True), 60)
    failures = [f"{i}: {r!r}" for i, r in enumerate(results) if r is not True]
    return time.monotonic() - start, failures


async def _one(port: int, index: int) -> bool:
    path, headers, status, body = _expectations(index)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
                 *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = await reader.read()
    finally:
        writer.close()
    head, _, got = data.partition(b"\r\n\r\n")
    got_status = int(head.split(b" ", 2)[1])
    if got_status != status or (body is not None and got != body):
        raise AssertionError(f"{path} {headers}: {got_status}, {len(got)} bytes")
    return body is not None or b"<rss" in got


# ---------------------------------------------------------------- the command


@pytest.mark.slow
def test_the_command_prints_one_line_per_problem_and_no_traceback(site: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "duopod", "serve", "--port", "0"], cwd=site,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
        server = Preview("127.0.0.1", port, None, None)  # type: ignore[arg-type]
        for path in ("/" + "a" * 300, "/%00", "/../show.toml", f"/{SLUG}/a%00b"):
            assert 400 <= request(server, path)[0] < 500
        for garbage in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,
                        b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\n\r\n", b"NONSENSE\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(garbage)
                sock.recv(1024)
        assert request(server, "/feed.xml")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)  # a guard against a hang
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 130
