"""show.toml's ``[writer]`` table: which chat server and model the writers' room asks, the
hosts' personas and the show's greeting. Read with the rest of show.toml, once
(``show.config``); the writers' room (``duopod.draft``) receives it typed."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from ..errors import InputError
from .fields import Fields

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_KEY_VARIABLE", "WRITER_FIELDS", "WriterSettings",
           "writer_settings"]

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"
"""llama.cpp's server on this machine: a draft goes nowhere unless asked."""
DEFAULT_KEY_VARIABLE = "OPENAI_API_KEY"
WRITER_FIELDS = frozenset({
    "engine", "base_url", "model", "api_key_env", "personas", "greeting", "sign_off",
    "notes_language", "price_prompt", "price_completion", "concurrency", "retry_for",
    "deadline", "stream", "structured", "notes", "length_passes", "model_path", "context",
    "threads"})


@dataclass(frozen=True)
class WriterSettings:
    engine: str = "openai"
    base_url: str = DEFAULT_BASE_URL
    model: str = "default"
    api_key_env: str = DEFAULT_KEY_VARIABLE
    """The environment variable holding the key; the key itself is never in show.toml."""
    personas: dict[str, str] = field(default_factory=dict)
    """Host name -> who they are on the show (their role, how they talk)."""
    greeting: str | None = None
    """The first host's opening; ``{show}``, ``{host}``, ``{date}``, ``{weekday}`` filled in."""
    sign_off: str | None = None
    notes_language: str | None = None
    """The written show notes' language (None: the episode's)."""
    notes: str = "extractive"
    """``written``: every build asks the model for notes like the example page's summary
    (a build fails when it cannot have them); ``extractive`` (the default): key sentences
    from the dialogue, no model."""
    price_prompt: float | None = None
    """USD per million prompt tokens, for the cost line."""
    price_completion: float | None = None
    structured: bool = True
    """Ask for ``response_format: json_schema``; a server that refuses it is asked again
    without, and its answer validated here."""
    stream: bool = True
    concurrency: int = 2
    retry_for: float = 120.0
    deadline: float = 300.0
    length_passes: int = 2
    """Rewrites of the movements over or under their share when a draft misses
    ``--minutes`` by more than 15% (0: the length is only reported)."""
    model_path: Path | None = None
    """A GGUF model file run in duopod's own process (the ``llama-cpp`` engine, chosen by
    this when ``engine`` is not named); relative to the show's folder."""
    context: int = 8192
    """The in-process model's context, in tokens (prompt and answer together)."""
    threads: int | None = None
    """CPU threads the in-process model uses (None: every core)."""
    path: Path | None = None
    """show.toml, for messages."""
    configured: bool = False
    """show.toml has a ``[writer]`` table (the studio offers drafting only then)."""

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) or None

    def with_overrides(self, base_url: str | None = None, model: str | None = None,
                       model_path: Path | None = None) -> WriterSettings:
        """The settings with the command line's ``--base-url``, ``--model`` and
        ``--model-path`` laid over (a server named on the command line wins over a model
        file in show.toml, and a file over a server)."""
        settings = self
        if base_url:
            settings = replace(settings, base_url=_checked_url(base_url, None, None),
                               engine="openai" if settings.engine == "llama-cpp"
                               else settings.engine)
        if model:
            settings = replace(settings, model=model)
        if model_path is not None:
            settings = replace(settings, model_path=model_path.expanduser().absolute(),
                               engine="llama-cpp")
        return settings


def _checked_url(url: str, path: Path | None, line: int | None) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"[writer] base_url must be an http(s) URL, not {_no_password(url)!r}",
                         path, line)
    if parsed.password:
        raise InputError("[writer] base_url must not carry a password: put the key in the "
                         "variable api_key_env names", path, line)
    return url.rstrip("/")


def _no_password(url: str) -> str:
    parsed = urlparse(url)
    return url.replace(parsed.password, "***") if parsed.password else url


def writer_settings(table: Fields, *, configured: bool) -> WriterSettings:
    """``[writer]`` read from its fields (unknown ones already refused by ``table``);
    ``configured``: show.toml has the table."""
    d = WriterSettings()
    personas = table.raw("personas") or {}
    if not isinstance(personas, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in personas.items()):
        raise table.error("personas", "must map host names to text")
    prices = {key: table.number(key, 0, 1e6) for key in ("price_prompt", "price_completion")}
    model_path = _model_path(table)
    return WriterSettings(
        engine=table.text("engine") or ("llama-cpp" if model_path else d.engine),
        base_url=_checked_url(table.text("base_url") or d.base_url, table.path,
                              table.line("base_url")),
        model=table.text("model") or d.model,
        api_key_env=table.text("api_key_env") or d.api_key_env,
        personas=dict(personas),
        greeting=table.text("greeting"),
        sign_off=table.text("sign_off"),
        notes_language=table.text("notes_language"),
        notes=table.choice("notes", ("extractive", "written"), d.notes) or d.notes,
        price_prompt=prices["price_prompt"],
        price_completion=prices["price_completion"],
        structured=bool(table.flag("structured", d.structured)),
        stream=bool(table.flag("stream", d.stream)),
        concurrency=_whole(table, "concurrency", 1, 64, d.concurrency),
        retry_for=_number(table, "retry_for", 0, 3600, d.retry_for),
        deadline=_number(table, "deadline", 1, 7200, d.deadline),
        length_passes=_whole(table, "length_passes", 0, 5, d.length_passes),
        model_path=model_path,
        context=_whole(table, "context", 512, 1 << 20, d.context),
        threads=_whole(table, "threads", 1, 256, 0) or None,
        path=table.path,
        configured=configured,
    )


def _model_path(table: Fields) -> Path | None:
    """``model_path`` as a path, relative ones from the show's folder (show.toml's)."""
    text = table.text("model_path")
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_absolute() and table.path is not None:
        path = table.path.parent / path
    return path


def _number(table: Fields, key: str, low: float, high: float, default: float) -> float:
    value = table.number(key, low, high, default)
    return default if value is None else value


def _whole(table: Fields, key: str, low: int, high: int, default: int) -> int:
    return int(_number(table, key, low, high, default))
