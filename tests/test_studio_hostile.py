"""The studio against odd requests and files (issue 35, items 4, 5, 6 and 10): the token
redirect never leaves the studio, the ``/site/`` preview has the studio's security
headers, a YAML alias bomb in scripts/ cannot hang the home page, and queued builds wait
in a queue, not in a thread each."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from conftest import MANDARIN, REPO, copy_show
from test_hostile_files import bombed_script

from duopod.build.options import BuildOptions
from duopod.show.workspace import load_workspace
from duopod.studio import events as events_module
from duopod.studio import make_app
from duopod.studio.events import Builds
from duopod.studio.security import PREVIEW_POLICY

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def show(tmp_path: Path) -> Path:
    root = copy_show(tmp_path / "show")
    shutil.copy(REPO / "lexicon.toml", root / "lexicon.toml")
    return root


def with_client(root: Path, body: Any, *, token: str | None = None, loopback: bool = True
                ) -> Any:
    async def main() -> Any:
        app = make_app(root, token=token, loopback=loopback, engine="espeak")
        async with TestClient(TestServer(app)) as client:
            return await body(client)

    return asyncio.run(main())


# ---------------------------------------------------------------- item 5


async def raw_get(client: TestClient, target: str) -> tuple[int, str]:
    """GET ``target`` exactly as written (a client library would read ``//host/`` as
    another host): the status and the Location header."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
                 "Connection: close\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.read()).split(b"\r\n\r\n", 1)[0].decode("latin-1")
    writer.close()
    status = int(head.split(" ", 2)[1])
    location = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")
                     if line.lower().startswith("location:")), "")
    return status, location


@pytest.mark.parametrize("path", ["////evil.example/", "//evil.example/", "/\\evil.example/",
                                  "/\\\\evil.example/x", "/%09/evil.example/", "/./"])
def test_the_token_redirect_stays_on_the_studio(show: Path, path: str) -> None:
    async def body(client: TestClient) -> tuple[int, str]:
        return await raw_get(client, f"{path}?token={TOKEN}&keep=1")

    status, location = with_client(show, body, token=TOKEN, loopback=False)
    assert status == 303
    assert location.startswith("/") and location[1:2] not in ("/", "\\"), location
    assert "token" not in location and location.endswith("keep=1")
    assert not any(c in location for c in "\t\n\r "), location


def test_the_token_redirect_keeps_an_ordinary_address(show: Path) -> None:
    async def body(client: TestClient) -> str:
        response = await client.get(f"/edit/{MANDARIN}?token={TOKEN}", allow_redirects=False)
        return response.headers["Location"]

    assert with_client(show, body, token=TOKEN, loopback=False) == f"/edit/{MANDARIN}"


# ---------------------------------------------------------------- item 6


def test_the_preview_has_the_studios_security_headers(built_show: Path, tmp_path: Path
                                                      ) -> None:
    root = tmp_path / "show"
    shutil.copytree(built_show, root, symlinks=True)
    slug = next(p.name for p in (root / "episodes").iterdir() if p.name.startswith("2025-12-10"))
    paths = ["/site/", f"/site/{slug}/", f"/site/{slug}/transcript.vtt", "/site/feed.xml"]
    mp3 = next((root / "episodes" / slug).glob("*.mp3")).name
    paths.append(f"/site/{slug}/{mp3}")

    async def body(client: TestClient) -> dict[str, Any]:
        found = {}
        for path in paths:
            response = await client.get(path)
            await response.read()
            found[path] = (response.status, dict(response.headers))
        response = await client.get("/")
        found["/"] = (response.status, dict(response.headers))
        return found

    found = with_client(root, body)
    for path in paths:
        status, headers = found[path]
        assert status == 200, path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert headers["X-Frame-Options"] == "SAMEORIGIN", path
        assert headers["Content-Security-Policy"] == PREVIEW_POLICY, path
    assert "script-src 'none'" in PREVIEW_POLICY and "frame-ancestors 'self'" in PREVIEW_POLICY
    assert "script-src 'self'" in found["/"][1]["Content-Security-Policy"]


# ---------------------------------------------------------------- item 4


def test_an_alias_bomb_in_scripts_does_not_hang_the_home_page(show: Path) -> None:
    bombed_script(show, "bomb.md")

    async def body(client: TestClient) -> tuple[int, str]:
        response = await client.get("/")
        return response.status, await response.text()

    status, page = with_client(show, body)
    assert status == 200
    assert "YAML alias *a0 is not allowed" in page
    assert "芯片出口新规下的算力之争" in page  # the other scripts are listed as ever


# ---------------------------------------------------------------- item 10


def test_queued_builds_wait_in_a_queue_not_a_thread_each(show: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    release = threading.Event()
    ran: list[Path] = []

    def held_build(workspace: Any, scripts: list[Path], *args: Any, **kwargs: Any) -> Any:
        release.wait(60)  # the first build holds the line while the others queue
        ran.append(scripts[0])
        raise events_module.DuopodError("stopped by the test")

    monkeypatch.setattr(events_module, "build_scripts", held_build)
    workspace = load_workspace(show)
    script = show / "scripts" / MANDARIN

    def builders() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("studio-build")]

    async def main() -> tuple[int, int]:
        builds = Builds()
        jobs = [builds.start(workspace, script, BuildOptions(), 0) for _ in range(30)]
        queued = len(builders())
        release.set()
        for job in jobs:
            async with job.changed:
                await job.changed.wait_for(lambda job=job: job.done)  # type: ignore[misc]
        return queued, sum(job.events[-1]["exit_code"] for job in jobs)

    queued, codes = asyncio.run(main())
    assert queued == 1 and codes == 30 and len(ran) == 30
    for _ in range(200):  # the worker leaves once the queue is empty
        if not builders():
            break
        time.sleep(0.05)
    assert builders() == []
