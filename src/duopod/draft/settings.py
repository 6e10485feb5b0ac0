"""The writers' room's settings: ``[writer]`` as ``show.config`` read it (the schema lives
in ``show.writer``, this module's names are kept for callers of earlier versions), and
the chat client's bounds it sets."""

from __future__ import annotations

from pathlib import Path

from ..show.writer import DEFAULT_BASE_URL, DEFAULT_KEY_VARIABLE, WriterSettings
from .model import ChatOptions

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_KEY_VARIABLE", "WriterSettings", "chat_options",
           "load_writer_settings"]


def load_writer_settings(show_file: Path) -> WriterSettings:
    """The ``[writer]`` table of the show whose show.toml is ``show_file``."""
    from ..show.workspace import load_workspace

    return load_workspace(show_file.parent).show.writer


def chat_options(settings: WriterSettings, cache_dir: Path | None) -> ChatOptions:
    """The client's bounds as ``[writer]`` sets them, with the answers cached."""
    return ChatOptions(retry_for=settings.retry_for, deadline=settings.deadline,
                       concurrency=settings.concurrency, stream=settings.stream,
                       cache_dir=cache_dir)
