"""Shared fixtures: a throwaway copy of the repository's show, and a built demo episode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# The suite runs kokoro on onnxruntime wherever it runs (the samples every CPU can make);
# the bf16 backend's own tests (test_kokoro_bf16.py) ask for it where it can run.
os.environ["DUOPOD_KOKORO_BACKEND"] = "onnxruntime"

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


def run_cli(cwd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "duopod", *args], cwd=cwd, capture_output=True, text=True,
        timeout=timeout, check=False,
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


SLOW_FIXTURES = {"built_show", "published", "site", "server", "three", "redis_url"}
"""Fixtures that build whole episodes, or start a speech server, worker processes or Redis
for them: a test using one is slow (``-m "not slow"`` skips it)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
