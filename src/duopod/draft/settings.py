"""show.toml's ``[writer]`` table: which chat server, which model, the hosts' personas and
the show's greeting. Light (tomllib only): read before any HTTP code loads."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import InputError
from .model import ChatOptions

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"
"""llama.cpp's server on this machine: a draft goes nowhere unless asked."""
DEFAULT_KEY_VARIABLE = "OPENAI_API_KEY"
_FIELDS = {"engine", "base_url", "model", "api_key_env", "personas", "greeting", "sign_off",
           "notes_language", "price_prompt", "price_completion", "concurrency", "retry_for",
           "deadline", "stream", "structured", "notes", "length_passes"}


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
    path: Path | None = None

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) or None

    def with_overrides(self, base_url: str | None = None, model: str | None = None
                       ) -> WriterSettings:
        settings = self
        if base_url:
            settings = replace(settings, base_url=_checked_url(base_url, None))
        if model:
            settings = replace(settings, model=model)
        return settings


def _checked_url(url: str, path: Path | None) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InputError(f"[writer] base_url must be an http(s) URL, not {_no_password(url)!r}",
                         path)
    if parsed.password:
        raise InputError("[writer] base_url must not carry a password: put the key in the "
                         "variable api_key_env names", path)
    return url.rstrip("/")


def _no_password(url: str) -> str:
    parsed = urlparse(url)
    return url.replace(parsed.password, "***") if parsed.password else url


def load_writer_settings(show_file: Path) -> WriterSettings:
    """The ``[writer]`` table of ``show_file`` (defaults when there is none)."""
    try:
        data = tomllib.loads(show_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read [writer]: {exc}", show_file) from None
    table = data.get("writer", {})
    if not isinstance(table, dict):
        raise InputError("[writer] must be a table", show_file)
    unknown = sorted(set(table) - _FIELDS)
    if unknown:
        raise InputError(f"unknown [writer] field {unknown[0]!r} (known: "
                         f"{', '.join(sorted(_FIELDS))})", show_file)
    return _settings(table, show_file)


def _settings(table: dict[str, Any], path: Path) -> WriterSettings:
    def text(key: str, default: str | None) -> str | None:
        value = table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise InputError(f"[writer] {key} must be text", path)
        return value

    def number(key: str, default: float, low: float, high: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not \
                low <= value <= high:
            raise InputError(f"[writer] {key} must be a number from {low:g} to {high:g}", path)
        return float(value)

    personas = table.get("personas", {})
    if not isinstance(personas, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in personas.items()):
        raise InputError("[writer] personas must map host names to text", path)
    prices = {key: (number(key, 0, 0, 1e6) if key in table else None)
              for key in ("price_prompt", "price_completion")}
    return WriterSettings(
        engine=text("engine", "openai") or "openai",
        base_url=_checked_url(text("base_url", DEFAULT_BASE_URL) or DEFAULT_BASE_URL, path),
        model=text("model", "default") or "default",
        api_key_env=text("api_key_env", DEFAULT_KEY_VARIABLE) or DEFAULT_KEY_VARIABLE,
        personas=dict(personas),
        greeting=text("greeting", None),
        sign_off=text("sign_off", None),
        notes_language=text("notes_language", None),
        notes=_notes_kind(text("notes", "extractive"), path),
        price_prompt=prices["price_prompt"],
        price_completion=prices["price_completion"],
        structured=bool(table.get("structured", True)),
        stream=bool(table.get("stream", True)),
        concurrency=int(number("concurrency", 2, 1, 64)),
        retry_for=number("retry_for", 120, 0, 3600),
        deadline=number("deadline", 300, 1, 7200),
        length_passes=int(number("length_passes", 2, 0, 5)),
        path=path,
    )


def _notes_kind(value: str | None, path: Path) -> str:
    if value not in ("extractive", "written"):
        raise InputError(f"[writer] notes must be 'extractive' or 'written', not {value!r}",
                         path)
    return value


def chat_options(settings: WriterSettings, cache_dir: Path | None) -> ChatOptions:
    """The client's bounds as ``[writer]`` sets them, with the answers cached."""
    return ChatOptions(retry_for=settings.retry_for, deadline=settings.deadline,
                       concurrency=settings.concurrency, stream=settings.stream,
                       cache_dir=cache_dir)
