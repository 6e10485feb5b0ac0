"""Stage 5, draft: a two-host script written from an article by a language model.

Chat-model engines are known the way speech engines are (``duopod.speech.engines``): each
is described once by a ``ChatEngineSpec`` and everything that chooses one goes through
``registry()``. The built-in ``openai`` engine speaks the OpenAI-compatible
``/chat/completions`` API (OpenAI, or a local llama.cpp server, Ollama, vLLM, LocalAI); the
built-in ``llama-cpp`` engine runs a GGUF file in-process (``[writer] model_path``);
another package adds an engine through the ``duopod.writers`` entry-point group, whose
entries load to a ``ChatEngineSpec``::

    [project.entry-points."duopod.writers"]
    mychat = "mychat_duopod:SPEC"

Importing this package loads no HTTP code: ``settings`` (show.toml's ``[writer]``) is light,
the client loads when a draft is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from importlib.metadata import entry_points

from ..errors import InputError
from ..lazy import lazy_call, registered
from .model import ChatEngine, ChatOptions
from .settings import WriterSettings

ENTRY_POINT_GROUP = "duopod.writers"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatEngineSpec:
    """Everything duopod needs to know of a chat engine before using it."""

    name: str
    """``[writer] engine = NAME``."""
    summary: str
    factory: Callable[[WriterSettings, ChatOptions], ChatEngine]
    """Makes the engine for one command (raises InputError for unusable settings)."""


_lazy = partial(lazy_call, __name__)


def _builtin() -> list[ChatEngineSpec]:
    return [
        ChatEngineSpec(
            name="openai",
            summary="any OpenAI-compatible chat server: OpenAI, or a local llama.cpp server, "
                    "Ollama, vLLM, LocalAI",
            factory=_lazy(".openai", "make_engine"),
        ),
        ChatEngineSpec(
            name="llama-cpp",
            summary="a GGUF model file run in duopod's own process by llama-cpp-python "
                    "([writer] model_path; pip install 'duopod[writer]')",
            factory=_lazy(".local", "make_engine"),
        ),
    ]


@cache
def registry() -> dict[str, ChatEngineSpec]:
    """Every chat engine duopod knows, built-in first, then those of installed plug-ins."""
    return registered(_builtin(), entry_points(group=ENTRY_POINT_GROUP), ChatEngineSpec,
                      "writer", log)


def get_chat_engine(settings: WriterSettings, options: ChatOptions | None = None
                    ) -> ChatEngine:
    """The engine ``settings.engine`` names, made for these settings."""
    try:
        spec = registry()[settings.engine]
    except KeyError:
        raise InputError(f"unknown writer engine {settings.engine!r} (choose from "
                         f"{', '.join(registry())})", settings.path) from None
    return spec.factory(settings, options or ChatOptions())


__all__ = ["ENTRY_POINT_GROUP", "ChatEngine", "ChatEngineSpec", "ChatOptions", "WriterSettings",
           "get_chat_engine", "registry"]
