"""Where a show is deployed: the ``[deploy.NAME]`` tables of show.toml, read with the rest
of it (``show.config``) into typed ``DeployTarget``s, each error naming show.toml and the
line the parser found the field on.

A target names a place (``s3://bucket/prefix`` or ``file:///path``) and how to reach it;
never a credential: S3 keys come from the standard AWS environment variables or profile,
so show.toml can be committed and shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import InputError
from .fields import Fields

__all__ = ["DeployTarget", "deploy_targets"]

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


def deploy_targets(show: Fields) -> tuple[DeployTarget, ...]:
    """Every ``[deploy.NAME]`` of show.toml, in the order written."""
    tables = show.raw("deploy")
    if tables is None:
        return ()
    if not isinstance(tables, dict):
        raise show.error("deploy", "must be tables like [deploy.cdn]")
    return tuple(_target(name, show) for name in tables)


def _target(name: str, show: Fields) -> DeployTarget:
    deploy = show.sub("deploy", known=show.table("deploy"))
    if not isinstance(deploy.raw(name), dict):
        raise InputError(f"'deploy.{name}' must be a table like [deploy.{name}]", show.path,
                         deploy.line(name))
    fields = deploy.sub(name, known=_FIELDS)
    url = fields.required_text("url").strip()
    for key in ("endpoint_url", "hub", "ping_url"):
        value = fields.text(key)
        if value is not None and not _HTTP.match(value):
            raise fields.error(key, "must be an http(s) URL")
    common = DeployTarget(
        name=name, url=url, scheme="", endpoint_url=fields.text("endpoint_url"),
        region=fields.text("region"), profile=fields.text("profile"), hub=fields.text("hub"),
        ping_url=fields.text("ping_url"))
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not _BUCKET.match(parts.netloc):
            raise fields.error("url", f"must be s3://BUCKET/PREFIX with a valid bucket name, "
                                      f"not {url!r}")
        return replace(common, scheme="s3", bucket=parts.netloc, prefix=parts.path.strip("/"))
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise fields.error("url", f"must be file:///ABSOLUTE/PATH, not {url!r}")
        return replace(common, scheme="file", folder=Path(unquote(parts.path)))
    raise fields.error("url", f"must start with s3:// or file://, not {url!r}")
