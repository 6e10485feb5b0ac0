"""Shared fixtures: a throwaway copy of the repository's show, and a built demo episode."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# The suite runs kokoro on onnxruntime wherever it runs (the samples every CPU can make);
# the bf16 backend's own tests (test_kokoro_bf16.py) ask for it where it can run.
os.environ["DUOPOD_KOKORO_BACKEND"] = "onnxruntime"
# A suite started in the background of a non-interactive shell (`make test &`, nohup, some CI
# runners) inherits SIGINT ignored, and so would every duopod it starts: the Ctrl-C tests
# would then test nothing a terminal does. A handler set here is reset to the default at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

MANDARIN = "2025-12-10-h200.md"
ENGLISH = "2025-12-12-open-weights.md"


def copy_show(target: Path) -> Path:
    """A workspace like the repository's: show.toml, voices/, templates/, scripts/."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "show.toml", target / "show.toml")
    for folder in ("voices", "templates", "scripts", "music", "art"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, target / folder)
    return target


@pytest.fixture
def show(tmp_path: Path) -> Path:
    return copy_show(tmp_path / "show")


@pytest.fixture(scope="session")
def built_show(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two example scripts built once, offline, through the CLI."""
    root = copy_show(tmp_path_factory.mktemp("built") / "show")
    result = run_cli(root, "build", f"scripts/{MANDARIN}", f"scripts/{ENGLISH}",
                     "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    return root


def run_cli(cwd: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "duopod", *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout, check=False, env=env,
    )


def decode_mp3(path: Path) -> np.ndarray:
    """Every sample of an MP3 as ffmpeg decodes it (gapless: encoder delay removed)."""
    import imageio_ffmpeg

    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le",
         "-ac", "1", "-ar", "44100", "-"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32)


def tree_snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 server (SeaweedFS, ``s3_server``) for the session; skipped without one."""
    import s3_server

    try:
        with s3_server.weed_s3(tmp_path_factory.mktemp("weed")) as endpoint:
            yield endpoint
    except s3_server.Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The S3 server's keys in the environment, and no AWS configuration of the machine's."""
    import s3_server

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.KEYS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.KEYS["aws_secret_access_key"])
    for variable in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(variable, os.devnull)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, no persistence; the test is
    skipped where Debian's redis-server is not installed (whichever module asks)."""
    import socket
    import time

    if shutil.which("redis-server") is None:
        pytest.skip("needs Debian's redis-server (apt-get install redis-server; .ci/run "
                    "installs it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _redis_answers(port):
            assert server.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not answer within 60 s"
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _redis_answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


SLOW_FIXTURES = {"built_show", "published", "site", "server", "three", "redis_url"}
"""Fixtures that build whole episodes, or start a speech server, worker processes or Redis
for them: a test using one is slow (``-m "not slow"`` skips it)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
