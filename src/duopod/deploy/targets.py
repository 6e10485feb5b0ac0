"""Where a show is deployed: the ``[deploy.NAME]`` tables of show.toml, read into typed
``DeployTarget``s with one-line errors naming show.toml and the table's line.

A target names a place (``s3://bucket/prefix`` or ``file:///path``) and how to reach it;
never a credential: S3 keys come from the standard AWS environment variables or profile,
so show.toml can be committed and shared.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import InputError
from ..show.fields import Fields
from ..show.workspace import SHOW_FILE, Workspace

_FIELDS = {"url", "endpoint_url", "region", "profile", "hub", "ping_url"}
_HTTP = re.compile(r"^https?://[^\s<>\"']+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class DeployTarget:
    """One ``[deploy.NAME]`` table. ``scheme`` is ``s3`` or ``file``; for s3 ``bucket``
    and ``prefix`` (no slashes at either end, may be empty); for file ``folder``."""

    name: str
    url: str
    scheme: str
    bucket: str = ""
    prefix: str = ""
    folder: Path | None = None
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    hub: str | None = None
    """A WebSub hub told of every new feed (POST hub.mode=publish&hub.url=...)."""
    ping_url: str | None = None
    """A podping-style address fetched with ``?url=<feed url>`` after every new feed."""


def _header_lines(text: str) -> dict[str, int]:
    """``{NAME: line}`` of every ``[deploy.NAME]`` header (tomllib gives no lines)."""
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"\s*\[\s*deploy\s*\.\s*\"?([^\]\"]+?)\"?\s*\]", line)
        if match:
            found.setdefault(match.group(1).strip(), number)
    return found


def load_targets(workspace: Workspace) -> dict[str, DeployTarget]:
    """Every deploy target of the show, by name (none: an empty dict)."""
    path = workspace.root / SHOW_FILE
    text = path.read_text(encoding="utf-8")
    try:
        tables = tomllib.loads(text).get("deploy", {})
    except tomllib.TOMLDecodeError as exc:  # load_workspace read it already: unlikely
        raise InputError(f"invalid TOML: {exc}", path) from None
    lines = _header_lines(text)
    if not isinstance(tables, dict):
        raise InputError("'deploy' must be tables like [deploy.cdn]", path)
    return {name: _target(name, value, path, lines.get(name))
            for name, value in tables.items()}


def _target(name: str, table: Any, path: Path, line: int | None) -> DeployTarget:
    if not isinstance(table, dict):
        raise InputError(f"'deploy.{name}' must be a table like [deploy.{name}]", path, line)
    fields = Fields(table, path, known=_FIELDS, typed=True, prefix=f"deploy.{name}.",
                    line=line)
    url = fields.required_text("url").strip()
    for key in ("endpoint_url", "hub", "ping_url"):
        value = fields.text(key)
        if value is not None and not _HTTP.match(value):
            raise fields.error(key, "must be an http(s) URL")
    endpoint = fields.text("endpoint_url")
    if endpoint is not None and "@" in urlsplit(endpoint).netloc:
        raise fields.error("endpoint_url", "must not hold a user name or password (S3 keys "
                           "come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a "
                           "profile, never from show.toml)")
    common: dict[str, Any] = {
        "name": name, "url": url, "endpoint_url": fields.text("endpoint_url"),
        "region": fields.text("region"), "profile": fields.text("profile"),
        "hub": fields.text("hub"), "ping_url": fields.text("ping_url"),
    }
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not _BUCKET.match(parts.netloc):
            raise fields.error("url", f"must be s3://BUCKET/PREFIX with a valid bucket name, "
                                      f"not {url!r}")
        return DeployTarget(scheme="s3", bucket=parts.netloc, prefix=parts.path.strip("/"),
                            **common)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise fields.error("url", f"must be file:///ABSOLUTE/PATH, not {url!r}")
        return DeployTarget(scheme="file", folder=Path(unquote(parts.path)), **common)
    raise fields.error("url", f"must start with s3:// or file://, not {url!r}")


def choose_target(workspace: Workspace, name: str | None) -> DeployTarget:
    """The target called ``name``; without a name, the only one there is."""
    targets = load_targets(workspace)
    path = workspace.root / SHOW_FILE
    if not targets:
        raise InputError("no deploy target: add a table like [deploy.cdn] with "
                         "url = \"s3://bucket/prefix\" or \"file:///srv/www/show\"", path)
    if name is None:
        if len(targets) > 1:
            raise InputError(f"several deploy targets ({', '.join(sorted(targets))}): "
                             "name the one to deploy to", path)
        return next(iter(targets.values()))
    if name not in targets:
        raise InputError(f"no deploy target {name!r} (known: {', '.join(sorted(targets))})",
                         path)
    return targets[name]
