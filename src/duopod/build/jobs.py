"""The queue's job records, typed: what ``duopod queue status`` lists and what
``duopod build --queue`` reads back, kept as JSON in one Redis hash per show.

Workers on other machines write these records (and a publish job's marker file in its
bundle folder), so they are checked where they are read (``from_json``): a malformed one
is one line naming the job and the field, never a KeyError in the middle of a status.
A field left unset (None) is left out of the JSON, as the records always were.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Final, Literal

from ..errors import DuopodError
from ..shapes import ShapeError, shaped
from .outcome import BuildOutcome

__all__ = ["BUNDLED", "DONE", "FAILED", "PUBLISHING", "QUEUED", "RETRYING", "RUNNING",
           "SUMMARY", "Deployed", "JobRecord", "JobState", "Landed", "read_record"]

JobState = Literal["queued", "running", "bundled", "publishing", "done", "failed", "retrying"]
QUEUED: Final = "queued"
RUNNING: Final = "running"
BUNDLED: Final = "bundled"
PUBLISHING: Final = "publishing"
DONE: Final = "done"
FAILED: Final = "failed"
RETRYING: Final = "retrying"
SUMMARY: dict[str, tuple[JobState, ...]] = {
    "queued": (QUEUED, RETRYING), "running": (RUNNING, BUNDLED, PUBLISHING),
    "failed": (FAILED,), "done": (DONE,)}
"""The states ``queue status`` counts under each heading."""


@dataclass(frozen=True)
class Deployed:
    """The deploy a publish job ran after landing its episode."""

    target: str
    uploaded: int


@dataclass(frozen=True)
class Landed:
    """What a publish job records once its episode is in the site: in the bundle's marker
    file (so a redelivered job is a no-op) and in the job's record."""

    slug: str | None
    published: float
    publisher: str
    """The worker that published it (host:pid)."""
    outcome: BuildOutcome
    deployed: Deployed | None = None

    def to_json(self) -> dict[str, object]:
        return _without_none({"slug": self.slug, "published": self.published,
                              "publisher": self.publisher, "outcome": self.outcome.to_json(),
                              "deployed": _plain(self.deployed)})

    @classmethod
    def from_json(cls, data: object, where: str) -> Landed:
        try:
            return shaped(cls, data)
        except ShapeError as exc:
            raise DuopodError(f"{where}: {exc}") from None

    def onto(self, record: JobRecord) -> JobRecord:
        return replace(record, slug=self.slug, published=self.published,
                       publisher=self.publisher, outcome=self.outcome, deployed=self.deployed)


@dataclass(frozen=True)
class JobRecord:
    """One job as the queue knows it: its state and what each step added."""

    state: JobState = QUEUED
    updated: float = 0.0
    script: str = ""
    """The script, relative to the show's folder."""
    submitted: float = 0.0
    worker: str | None = None
    """The worker (host:pid) that took the build."""
    broker: str | None = None
    """Its Dramatiq broker's id, whose heartbeat says whether it is alive."""
    started: float | None = None
    runs: int = 0
    """Builds begun: more than one after a redelivery or a retry."""
    bundled: float | None = None
    error: str | None = None
    bad_input: bool | None = None
    attempts: int | None = None
    slug: str | None = None
    published: float | None = None
    publisher: str | None = None
    outcome: BuildOutcome | None = None
    deployed: Deployed | None = None

    def to_json(self) -> dict[str, object]:
        data = {item.name: getattr(self, item.name) for item in fields(self)}
        data["outcome"] = None if self.outcome is None else self.outcome.to_json()
        data["deployed"] = _plain(self.deployed)
        return _without_none(data)

    @classmethod
    def from_json(cls, data: object, job: str) -> JobRecord:
        try:
            return shaped(cls, data)
        except ShapeError as exc:
            raise DuopodError(f"queue record of job {job}: {exc}") from None


def read_record(raw: bytes | str, job: str) -> JobRecord:
    """A job's record as Redis holds it (JSON text), checked."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise DuopodError(f"queue record of job {job}: not JSON") from None
    return JobRecord.from_json(data, job)


def _plain(deployed: Deployed | None) -> dict[str, object] | None:
    return None if deployed is None else asdict(deployed)


def _without_none(data: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in data.items() if value is not None}
