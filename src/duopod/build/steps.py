"""The two steps of one episode's build, the only implementation every executor runs.

- ``produce``: script -> bundle. Holding the script's lock: settle its identity (slug,
  GUID), make the engine, render every turn through the cache, mix, master and encode into
  a folder of its own, and work out the show notes while the encoder runs. Slow, parallel,
  runs anywhere (this process, a pool worker, a queue worker on another machine).
- ``land``: bundle -> published record, plus the problems publishing met on the rest of the
  site. Fast, one at a time under the site lock (inside ``publish_episode``).

``outcome`` turns what they return into the ``BuildOutcome`` every face prints. Splitting
at the bundle is what lets the executors differ only in *where* each step runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..disk.locks import process_alive, script_lock
from ..errors import DuopodError, InputError
from ..mix import MixedEpisode, Timeline, mix_episode
from ..publish import EpisodeRecord, Problem, publish_episode
from ..script.model import Script
from ..show.workspace import Workspace
from ..site.render import episode_notes
from ..speech.choice import resolve_engine
from ..speech.engines import Engine, EngineOptions, get_engine
from ..speech.lexicon import script_speller
from ..speech.model import RenderedTurn
from ..speech.render import ProgressCallback, render_turns_async
from ..store.episodes import episode_folder, existing_record, settle_identity
from ..text.notes import ShowNotes
from .bundle import Bundle, relative_script, write_bundle
from .options import BuildOptions
from .outcome import BuildOutcome
from .preflight import load_script

__all__ = ["Landed", "Stage", "land", "make_engine", "new_work_folder", "outcome",
           "produce", "render", "sweep_work"]

Stage = Literal["rendering", "mixing", "encoding"]
StageCallback = Callable[[Stage], None]
EngineWrapper = Callable[[Engine], Engine]
Notice = Callable[[str], None]


def make_engine(name: str, options: BuildOptions) -> Engine:
    return get_engine(name, EngineOptions(retry_for=options.retry_for,
                                          concurrency=options.concurrency))


def engine_for(workspace: Workspace, script: Script, options: BuildOptions) -> str:
    """The engine this script is built with (``build_scripts`` chose it by the one policy,
    ``speech.choice``); a mix from the cache with ``auto`` uses the one the published
    episode was rendered with (espeak if none): the speech is that engine's."""
    if options.engine == "auto" and options.cache_only:
        record = existing_record(workspace, script.meta.slug)
        return record.engine if record else "espeak"
    return resolve_engine(options.engine)


def render(workspace: Workspace, script: Script, engine: Engine, options: BuildOptions,
           progress: ProgressCallback | None = None) -> list[RenderedTurn]:
    spell = script_speller(workspace, script, engine.name)
    return asyncio.run(render_turns_async(
        script, workspace, engine, use_cache=options.use_cache,
        cache_only=options.cache_only, concurrency=options.concurrency, progress=progress,
        spoken=spell.say if spell else None,
    ))


# --- work folders ------------------------------------------------------------------------

_WORK_NAME = re.compile(r".+-(\d+)-[A-Za-z0-9_]+")
STALE_WORK_SECONDS = 6 * 3600.0
"""A work folder this old is an interrupted build's, whatever its process is doing now."""


def new_work_folder(workspace: Workspace, stem: str) -> Path:
    """A private folder for one build's intermediate files (the MP3 before publishing),
    named ``<stem>-<pid>-<random>`` so that a later run can tell whose it was."""
    root = workspace.work_dir
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{stem}-{os.getpid()}-", dir=root))


def sweep_work(workspace: Workspace, now: float | None = None) -> list[Path]:
    """Remove work folders left by builds that were killed: their process is gone, or they
    are older than any build takes. Returns what was removed."""
    root = workspace.work_dir
    if not root.is_dir():
        return []
    moment = time.time() if now is None else now
    removed = []
    for folder in root.iterdir():
        match = _WORK_NAME.fullmatch(folder.name)
        if not match or not folder.is_dir():
            continue
        try:
            old = moment - folder.stat().st_mtime > STALE_WORK_SECONDS
        except FileNotFoundError:
            continue
        if old or not process_alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


# --- produce -----------------------------------------------------------------------------


def produce(
    workspace: Workspace,
    script: Script,
    options: BuildOptions,
    folder: Path,
    *,
    progress: ProgressCallback | None = None,
    stage: StageCallback | None = None,
    wrap_engine: EngineWrapper | None = None,
) -> Bundle:
    """Render, mix and encode ``script`` (parsed once, by the caller's preflight) into
    ``folder``; ``bundle.json`` is written last, so a folder with one is complete. Holds
    the script's lock meanwhile, so two builds of one script never race on its files."""
    tell = stage or (lambda _stage: None)
    folder.mkdir(parents=True, exist_ok=True)
    with script_lock(workspace.cache_dir, script.path):
        script = settle_identity(workspace, script, options.force)
        engine = make_engine(engine_for(workspace, script, options), options)
        if wrap_engine is not None:
            engine = wrap_engine(engine)
        tell("rendering")
        rendered = render(workspace, script, engine, options, progress)
        tell("mixing")
        mixed, notes = mix_with_notes(workspace, script, rendered, folder, tell)
    cached = sum(1 for r in rendered if r.cached)
    bundle = Bundle(relative_script(workspace, script.path), engine.name, mixed.audio,
                    mixed.timeline, mixed.measurement, notes, len(rendered) - cached, cached)
    write_bundle(bundle, folder)
    return bundle


def show_notes(workspace: Workspace, script: Script, timeline: Timeline) -> ShowNotes:
    """The episode's notes: key sentences from the dialogue and, when the show's
    ``[writer]`` asks for ``notes = "written"``, a summary written by its language model
    beside them (grounded in the article, cached like speech)."""
    notes = episode_notes(workspace, script, timeline)
    settings = workspace.show.writer
    if settings.notes != "written":
        return notes
    from ..draft import get_chat_engine
    from ..draft.notes import with_written, write_notes
    from ..draft.settings import chat_options

    engine = get_chat_engine(settings, chat_options(settings, workspace.cache_dir))
    return with_written(notes, write_notes(workspace, script, engine,
                                           settings.notes_language))


def mix_with_notes(workspace: Workspace, script: Script, rendered: list[RenderedTurn],
                    folder: Path, tell: StageCallback) -> tuple[MixedEpisode, ShowNotes | None]:
    """Mix and encode; the show notes (jieba's dictionary is slow to load; a written
    summary waits on a model) are worked out while the encoder runs."""
    with ThreadPoolExecutor(max_workers=1) as background:
        pending: list[Future[ShowNotes]] = []

        def planned(timeline: Timeline) -> None:
            tell("encoding")
            pending.append(background.submit(show_notes, workspace, script, timeline))

        mixed = mix_episode(workspace, script, rendered, folder / f"{script.meta.slug}.mp3",
                            on_planned=planned)
        notes = pending[0].result() if pending else None
    return mixed, notes


# --- land --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Landed:
    """A bundle published: its record, and what publishing met on the rest of the site."""

    record: EpisodeRecord
    directory: Path
    problems: list[Problem] = field(default_factory=list)


def land(workspace: Workspace, bundle: Bundle, options: BuildOptions,
         script: Script | None = None) -> Landed:
    """Publish a bundle into ``episodes/``, or ``.duopod/pending/`` (under the site lock,
    inside ``publish_episode``).
    ``script`` is the one the bundle was produced from when this process has it; a queue's
    publisher parses its own copy, so the record describes the script as this machine's
    copy of the show has it."""
    if script is None:
        script = load_script(workspace, _inside(workspace, bundle.script), options)
    mixed = MixedEpisode(bundle.audio, bundle.timeline, bundle.measurement)
    problems: list[Problem] = []
    record = publish_episode(workspace, script, mixed, engine=bundle.engine,
                             force=options.force, notes=bundle.notes, report=problems.append)
    return Landed(record, episode_folder(workspace, record.slug), problems)


def _inside(workspace: Workspace, path: Path) -> Path:
    """Scripts travel between machines relative to the show's folder."""
    return path if path.is_absolute() else workspace.root / path


# --- outcomes ----------------------------------------------------------------------------


def outcome(script: Path, bundle: Bundle, landed: Landed, started: float, finished: float,
            now: dt.datetime | None = None) -> BuildOutcome:
    """The outcome of a script that landed."""
    record = landed.record
    moment = now or dt.datetime.now(dt.UTC)
    state = "draft" if record.status == "draft" else (
        "published" if record.listed(moment) else "scheduled")
    return BuildOutcome(
        script, True, slug=record.slug, title=record.title, engine=bundle.engine,
        duration=record.duration, rendered=bundle.rendered, cached=bundle.cached,
        started=started, finished=finished, turns=len(bundle.timeline.turns),
        chapters=len(record.timeline.chapters) if record.timeline else 0,
        loudness_lufs=bundle.measurement.loudness_lufs,
        true_peak_dbtp=bundle.measurement.true_peak_dbtp,
        directory=landed.directory, audio_file=record.audio.file, state=state,
        publish_at=record.published.isoformat() if state == "scheduled" else None,
        problems=tuple(str(p) for p in landed.problems),
        fatal_problems=any(p.fatal for p in landed.problems),
    )


def failure(script: Path, exc: BaseException, started: float, engine: str | None = None
            ) -> BuildOutcome:
    """The outcome of a script whose build raised: the reason in one line, and whether it
    was the producer's input."""
    message = str(exc) if isinstance(exc, DuopodError) else f"{type(exc).__name__}: {exc}"
    return BuildOutcome(script, False, engine=engine, error=message,
                        bad_input=isinstance(exc, InputError), started=started,
                        finished=time.time())
