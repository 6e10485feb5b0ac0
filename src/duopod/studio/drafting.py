"""A new episode from an article, in the writers' room (``duopod.draft``), with the
language model named in show.toml's ``[writer]``: the same calls ``duopod draft`` makes.

The article is pasted into the page; it is kept in ``.duopod/studio/articles/`` (never in
the producer's folders) for the draft to read and copy beside the script, as it copies an
article file named on the command line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from ..disk.atomic import write_atomically
from ..draft import get_chat_engine
from ..draft.settings import chat_options
from ..draft.writer import DraftRequest, draft_script, host_languages, read_article
from ..errors import InputError
from ..show.workspace import SHOW_FILE, Workspace


def writer_configured(workspace: Workspace) -> bool:
    """Does show.toml name a language model (a ``[writer]`` table)?"""
    return workspace.show.writer.configured


def draft_from_article(workspace: Workspace, article: str, *, minutes: float = 5.0,
                       title: str | None = None, url: str | None = None) -> Path:
    """Draft a script from ``article`` (its text); the script's path."""
    if not article.strip():
        raise InputError("paste the article's text first")
    if not writer_configured(workspace):
        raise InputError("drafting needs a language model: add [writer] to show.toml",
                         workspace.root / SHOW_FILE)
    settings = workspace.show.writer
    folder = workspace.state_dir / "studio" / "articles"
    folder.mkdir(parents=True, exist_ok=True)
    data = article.encode("utf-8")
    path = folder / f"article-{hashlib.sha256(data).hexdigest()[:16]}.txt"
    write_atomically(path, data)
    language = workspace.show.language
    request = DraftRequest(article=read_article(str(path)), hosts=_hosts(workspace,
                                                                        settings.personas),
                           language=language, date=dt.date.today(), minutes=minutes,
                           title=title or None, url=url or None,
                           length_passes=settings.length_passes)
    engine = get_chat_engine(settings, chat_options(settings, workspace.cache_dir))
    return draft_script(workspace, engine, request, settings.personas, settings.greeting,
                        settings.sign_off).script


def _hosts(workspace: Workspace, personas: dict[str, str]) -> tuple[str, ...]:
    """The personas' first two hosts, else two hosts whose voices speak the language."""
    if len(personas) >= 2:
        return tuple(personas)[:2]
    primary = workspace.show.language.split("-")[0].lower()
    primary = "zh" if primary in ("zh", "cmn") else primary
    speakers = [p.speaker for p in workspace.profiles.values()]
    return tuple([s for s in speakers if primary in host_languages(workspace, s)]
                 or speakers)[:2]
