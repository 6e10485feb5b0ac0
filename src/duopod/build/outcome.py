"""What every executor reports, the same way: ``BuildEvent`` while a script is built,
one ``BuildOutcome`` when it has ended, and one exit code for them all.

An outcome carries everything the faces print (the CLI's lines and summary, the studio's
page): whether the episode landed and in which state, its figures, the problems publishing
met on the rest of the site, or why it failed. It is plain data with a JSON form, because
on the queue it is written by one machine and read by another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from ..errors import EXIT_BAD_INPUT, EXIT_FAILURE

__all__ = ["BuildEvent", "BuildOutcome", "EventKind", "OnEvent", "built_text", "exit_code",
           "state_line"]

EventKind = Literal["waiting", "rendering", "turn", "mixing", "encoding", "publishing",
                    "published", "failed"]


@dataclass(frozen=True)
class BuildEvent:
    """One step of one script's build, as a progress display needs it."""

    script: Path
    kind: EventKind
    done: int = 0
    """Turns finished so far (rendered or cached)."""
    cached: int = 0
    total: int = 0
    detail: str = ""
    at: float = field(default_factory=time.time)


OnEvent = Callable[[BuildEvent], None]


@dataclass(frozen=True)
class BuildOutcome:
    """How one script's build ended: landed (and in which state), or failed and why."""

    script: Path
    ok: bool
    slug: str | None = None
    title: str | None = None
    engine: str | None = None
    duration: float = 0.0
    rendered: int = 0
    cached: int = 0
    error: str | None = None
    bad_input: bool = False
    """The failure was the producer's input (script, profile): exit code 2 if all are."""
    started: float = 0.0
    finished: float = 0.0
    """When this script's render-mix-encode ran (wall clock), for reports and tests."""
    turns: int = 0
    chapters: int = 0
    loudness_lufs: float | None = None
    true_peak_dbtp: float | None = None
    directory: Path | None = None
    audio_file: str | None = None
    state: str = "published"
    """``published`` (in the feed), ``draft`` (never listed) or ``scheduled``."""
    publish_at: str | None = None
    """For a scheduled episode: when it joins the feed (ISO 8601)."""
    problems: tuple[str, ...] = ()
    """What publishing met elsewhere on the site (an episode it could not list anew, a
    folder it left alone), each as one line naming its file."""
    fatal_problems: bool = False
    """One of the problems means the site is not what the producer asked for: exit 1."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["script"] = str(self.script)
        data["directory"] = None if self.directory is None else str(self.directory)
        data["problems"] = list(self.problems)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildOutcome:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["script"] = Path(values["script"])
        if values.get("directory") is not None:
            values["directory"] = Path(values["directory"])
        values["problems"] = tuple(values.get("problems", ()))
        return cls(**values)


def exit_code(outcomes: Sequence[BuildOutcome]) -> int:
    """0 when every script landed and publishing met no fatal problem; 2 when every
    failure was bad input (and nothing else went wrong); else 1."""
    failed = [o for o in outcomes if not o.ok]
    troubled = any(o.fatal_problems for o in outcomes)
    if not failed:
        return EXIT_FAILURE if troubled else 0
    if all(o.bad_input for o in failed) and not troubled:
        return EXIT_BAD_INPUT
    return EXIT_FAILURE


def built_text(o: BuildOutcome) -> str:
    """What a face says after "built" about an episode that landed (the CLI, the studio)."""
    from ..site.templates import clock

    return (f"{o.title}  {clock(o.duration)} · {o.turns} turns · {o.chapters} chapters · "
            f"engine {o.engine} ({o.rendered} rendered, {o.cached} cached) · "
            f"{_figure(o.loudness_lufs)} LUFS, {_figure(o.true_peak_dbtp)} dBTP")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def state_line(outcome: BuildOutcome) -> str:
    """Where the episode stands for listeners, in words."""
    if outcome.state == "draft":
        return "draft: not in the feed"
    if outcome.state == "scheduled":
        return f"scheduled for {outcome.publish_at}: not in the feed until then"
    return "published: in the feed"
