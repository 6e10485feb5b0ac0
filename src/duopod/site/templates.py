"""The theme: jinja2 templates for the pages and notes. The default theme ships inside the
package (``duopod/theme``); a show overrides any template by putting a file of the same
name in its own ``templates/`` folder, and takes the rest from the package. An override
need not copy the theme: it can extend the packaged template, reachable as
``theme/<name>``, and replace one block (``{% extends "theme/episode.html" %}`` with
``{% block footer %}``; the blocks are ``footer`` on episode pages and ``intro`` on the
site's index)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

from ..disk.atomic import content_name
from ..errors import InputError
from ..labels import labels
from ..show.workspace import Workspace
from .markdown import http_url, markdown_text
from .transcripts import laugh_marker

THEME_TEMPLATES = ("episode.html", "site.html", "notes.html", "notes.md")


def theme_dir() -> Path:
    """The default theme's folder inside the installed package."""
    return Path(str(files("duopod") / "theme"))


def clock(seconds: float) -> str:
    """m:ss or h:mm:ss, for people."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@cache
def _environment(show_templates: Path, markdown: bool, compiled: Path | None
                 ) -> jinja2.Environment:
    """HTML and XML templates autoescape; Markdown ones escape Markdown syntax (links,
    images, raw HTML) but not quotes, and offer ``http_url`` for the one link they print.
    Compiled templates are kept in ``compiled`` (jinja2 checks each against its source):
    compiling the theme took 0.15 s of every build."""
    bytecode = None
    if compiled is not None:
        try:
            compiled.mkdir(parents=True, exist_ok=True)
            bytecode = jinja2.FileSystemBytecodeCache(str(compiled))
        except OSError:  # a read-only show still publishes, compiling as it goes
            bytecode = None
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([
            jinja2.FileSystemLoader([show_templates, theme_dir()]),
            jinja2.PrefixLoader({"theme": jinja2.FileSystemLoader(theme_dir())}),
        ]),
        bytecode_cache=bytecode,
        autoescape=not markdown,  # noqa: S701 (Markdown output is escaped by finalize)
        finalize=markdown_text if markdown else None,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = clock
    env.filters["art"] = content_name
    env.filters["http_url"] = http_url
    env.filters["laugh"] = laugh_marker
    return env


def template_environment(workspace: Workspace, markdown: bool = False) -> jinja2.Environment:
    compiled = workspace.cache_dir / "templates" / ("markdown" if markdown else "markup")
    return _environment(workspace.templates_dir, markdown, compiled)


def render_template(workspace: Workspace, name: str, **context: Any) -> str:
    """Render ``name`` from the show's templates/ or, failing that, the default theme; a
    template error is one line naming the template's file and line. ``t`` is the label
    catalogue of the episode's language (the show's on other pages)."""
    env = template_environment(workspace, markdown=name.endswith(".md"))
    episode = context.get("episode")
    context.setdefault("t", labels(getattr(episode, "language", workspace.show.language)))
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        path = Path(exc.filename) if exc.filename else workspace.templates_dir / name
        raise InputError(f"template error: {exc.message}", path, exc.lineno) from None
    except jinja2.TemplateNotFound:
        raise InputError(f"template {name!r} not found in {workspace.templates_dir} or the "
                         "default theme") from None
    except jinja2.UndefinedError as exc:
        template = env.get_template(name).filename or name
        raise InputError(f"template {name!r}: {exc.message}", template) from None
