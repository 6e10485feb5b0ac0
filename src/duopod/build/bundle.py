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
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import DuopodError
from ..mix import Measurement, MixedEpisode, Timeline, mix_episode
from .pipeline import BuildOptions, load_script, make_engine, render, resolve_engine
from ..publish import EpisodeRecord, publish_episode
from ..publish.episodes import settle_identity
from ..text.notes import ShowNotes
from ..publish.site import episode_notes
from ..publish.swap import script_lock
from ..script.model import Script
from ..speech.engines import Engine
from ..speech.model import RenderedTurn
from ..speech.render import TurnEvent
from ..show.workspace import Workspace

BUNDLE_FILE = "bundle.json"
BUNDLE_VERSION = 1

Stage = Literal["rendering", "mixing", "encoding"]
StageCallback = Callable[[Stage], None]
EngineWrapper = Callable[[Engine], Engine]


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

    def to_dict(self, folder: Path) -> dict[str, Any]:
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
                "keywords": self.notes.keywords},
            "rendered": self.rendered,
            "cached": self.cached,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path) -> Bundle:
        if data.get("version") != BUNDLE_VERSION:
            raise DuopodError(f"{folder / BUNDLE_FILE}: unknown bundle version "
                              f"{data.get('version')!r}")
        notes = data.get("notes")
        return cls(
            script=Path(data["script"]),
            engine=str(data["engine"]),
            audio=folder / data["audio"],
            timeline=Timeline.from_dict(data["timeline"]),
            measurement=Measurement(**data["measurement"]),
            notes=None if notes is None else ShowNotes(**notes),
            rendered=int(data["rendered"]),
            cached=int(data["cached"]),
        )


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
    return Bundle.from_dict(json.loads(path.read_text(encoding="utf-8")), folder)


def make_bundle(
    workspace: Workspace,
    path: Path,
    options: BuildOptions,
    folder: Path,
    *,
    progress: Callable[[TurnEvent], None] | None = None,
    stage: StageCallback | None = None,
    wrap_engine: EngineWrapper | None = None,
) -> Bundle:
    """Render, mix and encode one script into ``folder`` (created if missing). Holds the
    script's lock meanwhile, so two builds of one script never race on its files.
    ``wrap_engine`` lets a caller bound the engine across processes."""
    tell = stage or (lambda _stage: None)
    folder.mkdir(parents=True, exist_ok=True)
    with script_lock(workspace.cache_dir, path):
        script = settle_identity(workspace, load_script(workspace, path, options), options.force)
        engine = make_engine(resolve_engine(options.engine), options)
        if wrap_engine is not None:
            engine = wrap_engine(engine)
        tell("rendering")
        rendered = render(workspace, script, engine, options, progress)
        tell("mixing")
        mixed, notes = _mix_with_notes(workspace, script, rendered, folder, tell)
    cached = sum(1 for r in rendered if r.cached)
    bundle = Bundle(_relative(workspace, path), engine.name, mixed.audio, mixed.timeline,
                    mixed.measurement, notes, len(rendered) - cached, cached)
    write_bundle(bundle, folder)
    return bundle


def _mix_with_notes(workspace: Workspace, script: Script, rendered: list[RenderedTurn],
                    folder: Path, tell: StageCallback) -> tuple[MixedEpisode, ShowNotes | None]:
    """Mix and encode; the show notes (jieba's dictionary is slow to load) are worked out
    meanwhile, as ``pipeline.mix_and_publish`` does."""
    with ThreadPoolExecutor(max_workers=1) as background:
        pending: list[Future[ShowNotes]] = []

        def planned(timeline: Timeline) -> None:
            tell("encoding")
            pending.append(background.submit(episode_notes, workspace, script, timeline))

        mixed = mix_episode(workspace, script, rendered, folder / f"{script.meta.slug}.mp3",
                            on_planned=planned)
        notes = pending[0].result() if pending else None
    return mixed, notes


def publish_bundle(workspace: Workspace, bundle: Bundle, options: BuildOptions
                   ) -> EpisodeRecord:
    """Land a bundle in ``episodes/`` (under the site lock, inside ``publish_episode``).
    The script is parsed again here: it is small, and the record must describe the script
    as it is now on this machine's copy of the show."""
    script = load_script(workspace, _inside(workspace, bundle.script), options)
    mixed = MixedEpisode(bundle.audio, bundle.timeline, bundle.measurement)
    return publish_episode(workspace, script, mixed, engine=bundle.engine, force=options.force,
                           notes=bundle.notes)


def _relative(workspace: Workspace, path: Path) -> Path:
    """The script as the show knows it: relative to its folder, when it is inside it."""
    try:
        return path.resolve().relative_to(workspace.root.resolve())
    except ValueError:
        return path.resolve()


def _inside(workspace: Workspace, path: Path) -> Path:
    """Scripts travel between machines relative to the show's folder."""
    return path if path.is_absolute() else workspace.root / path


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
