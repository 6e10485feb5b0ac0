"""A *bundle*: everything one episode's build produced before publishing (the encoded MP3,
its timeline, loudness, show notes, engine and script), in a folder of its own.

Splitting a build at this point is what lets the slow part (speech, mastering, encoding)
run anywhere and in parallel, while publishing, the one step that changes the shared
site, runs later, one at a time under the site lock: ``duopod build --jobs`` makes bundles
in worker processes and publishes them in the parent; ``duopod worker`` makes them on any
machine and a publish job lands them. A bundle folder holds ``bundle.json`` (plain JSON:
nothing in it is executable or pickled) beside the MP3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import DuopodError
from ..mix import Measurement, Timeline
from ..shapes import ShapeError, shaped
from ..show.workspace import Workspace
from ..text.notes import ShowNotes
from ..text.written import WrittenSummary

BUNDLE_FILE = "bundle.json"
BUNDLE_VERSION = 1



@dataclass(frozen=True)
class Bundle:
    """One episode mixed and encoded, waiting to be published."""

    script: Path
    """Relative to the show's folder when inside it: machines may mount it elsewhere."""
    engine: str
    audio: Path
    timeline: Timeline
    measurement: Measurement
    notes: ShowNotes | None
    rendered: int
    cached: int

    def to_dict(self, folder: Path) -> dict[str, object]:
        """The JSON form; paths inside ``folder`` are stored relative to it so a bundle on
        shared storage reads the same from every machine."""
        return {
            "version": BUNDLE_VERSION,
            "script": str(self.script),
            "engine": self.engine,
            "audio": self.audio.relative_to(folder).as_posix(),
            "timeline": self.timeline.to_dict(),
            "measurement": {"loudness_lufs": self.measurement.loudness_lufs,
                            "true_peak_dbtp": self.measurement.true_peak_dbtp},
            "notes": None if self.notes is None else {
                "summary": self.notes.summary, "key_points": self.notes.key_points,
                "keywords": self.notes.keywords,
                "written": None if self.notes.written is None else
                self.notes.written.to_json()},
            "rendered": self.rendered,
            "cached": self.cached,
        }

    @classmethod
    def from_dict(cls, data: object, folder: Path) -> Bundle:
        """What ``to_dict`` wrote (on this machine or another), checked: DuopodError in one
        line naming the file and the field for anything else."""
        where = folder / BUNDLE_FILE
        version = data.get("version") if isinstance(data, dict) else None
        if version != BUNDLE_VERSION:
            raise DuopodError(f"{where}: unknown bundle version {version!r}")
        try:
            found = shaped(_BundleJson, data)
        except ShapeError as exc:
            raise DuopodError(f"{where}: {exc}") from None
        notes = found.notes
        return cls(
            script=Path(found.script),
            engine=found.engine,
            audio=folder / found.audio,
            timeline=found.timeline,
            measurement=found.measurement,
            notes=None if notes is None else ShowNotes(
                notes.summary, notes.key_points, notes.keywords,
                WrittenSummary.from_json(notes.written)),
            rendered=found.rendered,
            cached=found.cached,
        )


@dataclass(frozen=True)
class _NotesJson:
    summary: str | None
    key_points: list[str]
    keywords: list[str]
    written: object = None
    """``WrittenSummary.from_json`` reads it (None for anything it does not recognise)."""


@dataclass(frozen=True)
class _BundleJson:
    """``bundle.json`` as ``Bundle.to_dict`` writes it."""

    version: int
    script: str
    engine: str
    audio: str
    timeline: Timeline
    measurement: Measurement
    notes: _NotesJson | None
    rendered: int
    cached: int

    def __post_init__(self) -> None:
        if not self.audio or Path(self.audio).name != self.audio:
            raise ShapeError("a file name in the bundle's folder is needed", ("audio",))


def write_bundle(bundle: Bundle, folder: Path) -> Path:
    """``bundle.json`` written last and by rename, so a folder with one is complete."""
    target = folder / BUNDLE_FILE
    partial = folder / f".{BUNDLE_FILE}.partial"
    partial.write_text(json.dumps(bundle.to_dict(folder), ensure_ascii=False),
                       encoding="utf-8")
    partial.replace(target)
    return target


def read_bundle(folder: Path) -> Bundle | None:
    """The bundle in ``folder``, or None when there is no complete one."""
    path = folder / BUNDLE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise DuopodError(f"{path}: unreadable ({exc})") from None
    return Bundle.from_dict(data, folder)


def relative_script(workspace: Workspace, path: Path) -> Path:
    """The script as the show knows it: relative to its folder, when it is inside it."""
    try:
        return path.resolve().relative_to(workspace.root.resolve())
    except ValueError:
        return path.resolve()
