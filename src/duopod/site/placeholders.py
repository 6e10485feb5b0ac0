"""Publishing a show that still carries ``duopod init``'s placeholders: a warning, through
the same ``Report``/``Problem`` path as every other publishing problem, so a build, a
``--jobs`` pool and a queue worker all say it the same way.

A warning, not a refusal: a new show's first build must work with no edit (previewing it
is the point of the first day), and the example host and address cannot be fetched or
mailed by anyone. But an app that has fetched a feed keeps what it said, so the producer
hears, at every publish into the feed, which field to change and where.
"""

from __future__ import annotations

import datetime as dt

from ..script.model import Script
from ..show.placeholders import Placeholder, is_placeholder_summary, show_placeholders
from ..show.workspace import Workspace
from ..store.episodes import Problem
from ..store.record import EpisodeRecord

__all__ = ["placeholder_problems"]


def placeholder_problems(workspace: Workspace, script: Script, record: EpisodeRecord,
                         now: dt.datetime | None = None) -> list[Problem]:
    """Warnings (not fatal) for each placeholder an episode entering the feed carries;
    none for a draft or an episode not yet due (it reaches no app yet)."""
    if not record.listed(now or dt.datetime.now(dt.UTC)):
        return []
    found = show_placeholders(workspace.show, workspace.root)
    if is_placeholder_summary(script.meta.summary):
        found.append(Placeholder("summary", script.meta.summary or "", script.path))
    return [Problem(p.path, f"published to the feed with a placeholder: {p.message()}",
                    fatal=False) for p in found]
