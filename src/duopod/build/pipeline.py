"""The whole pipeline: parse, speak, mix, publish. The CLI is a thin layer over this."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..mix import Measurement, MixedEpisode, Timeline, mix_episode
from .preflight import BuildOptions, check_scripts, load_script
from ..publish import EpisodeRecord, Problem, Report, publish_episode, rebuild_feed, republish
from ..publish.episodes import existing_record, settle_identity
from ..text.notes import ShowNotes
from ..publish.site import episode_notes
from ..publish.swap import script_lock
from ..script.model import Script
from ..speech.engines import Engine, EngineOptions, choose_auto, engine_spec, get_engine
from ..speech.lexicon import script_speller
from ..speech.model import RenderedTurn
from ..speech.render import ProgressCallback, render_turns_async
from ..show.workspace import Workspace

__all__ = [
    "BuildOptions", "BuildResult", "build_episode", "check_scripts", "load_script",
    "rebuild_feed", "remix_episode", "republish",
]

Notice = Callable[[str], None]


@dataclass
class BuildResult:
    script: Script
    record: EpisodeRecord
    directory: Path
    engine: str
    rendered: int
    cached: int
    measurement: Measurement
    problems: list[Problem] = field(default_factory=list)
    """Other episodes the publish could not list anew, folders it left alone."""


def make_engine(name: str, options: BuildOptions) -> Engine:
    return get_engine(name, EngineOptions(retry_for=options.retry_for,
                                          concurrency=options.concurrency))


def resolve_engine(name: str, notice: Notice | None = None) -> str:
    """``auto`` becomes the best engine that can run here (edge when its service answers),
    and says so when it falls back; any other name is checked against the registry."""
    if name != "auto":
        return engine_spec(name).name
    return choose_auto(notice)


def cached_engine(workspace: Workspace, script: Script) -> str:
    """The engine the published episode was rendered with (for re-mixing), else espeak."""
    record = existing_record(workspace, script.meta.slug)
    return record.engine if record else "espeak"


def remix_episode(workspace: Workspace, path: Path, options: BuildOptions | None = None,
                  *, notice: Notice | None = None) -> BuildResult:
    """Mix and publish again from cached speech only: to tune gaps, music or loudness."""
    options = replace(options or BuildOptions(), cache_only=True, use_cache=True)
    return build_episode(workspace, path, options, notice=notice)


def render(workspace: Workspace, script: Script, engine: Engine, options: BuildOptions,
           progress: ProgressCallback | None = None) -> list[RenderedTurn]:
    spell = script_speller(workspace, script, engine.name)
    return asyncio.run(render_turns_async(
        script, workspace, engine, use_cache=options.use_cache,
        cache_only=options.cache_only, concurrency=options.concurrency, progress=progress,
        spoken=spell.say if spell else None,
    ))


def work_dir(workspace: Workspace, slug: str) -> Path:
    """A private folder for one build's intermediate files (the MP3 before publishing)."""
    root = workspace.work_dir
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{slug}-{os.getpid()}-", dir=root))


def mix_and_publish(workspace: Workspace, script: Script, rendered: list[RenderedTurn],
                    engine: str, force: bool = False, report: Report | None = None
                    ) -> tuple[EpisodeRecord, MixedEpisode]:
    """Mix into a work folder, then publish. The show notes (jieba loads a large dictionary)
    are worked out while ffmpeg encodes."""
    work = work_dir(workspace, script.meta.slug)
    try:
        with ThreadPoolExecutor(max_workers=1) as background:
            pending: list[Future[ShowNotes]] = []

            def start_notes(timeline: Timeline) -> None:
                pending.append(background.submit(episode_notes, workspace, script, timeline))

            mixed = mix_episode(workspace, script, rendered, work / f"{script.meta.slug}.mp3",
                                on_planned=start_notes)
            notes = pending[0].result() if pending else None
        record = publish_episode(workspace, script, mixed, engine=engine, force=force,
                                 notes=notes, report=report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return record, mixed


def build_episode(
    workspace: Workspace,
    path: Path,
    options: BuildOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    notice: Notice | None = None,
) -> BuildResult:
    """Build one script into a published episode."""
    options = options or BuildOptions()
    with script_lock(workspace.cache_dir, path):
        script = settle_identity(workspace, load_script(workspace, path, options), options.force)
        engine_name = options.engine
        if engine_name == "auto" and options.cache_only:
            engine_name = cached_engine(workspace, script)
        engine = make_engine(resolve_engine(engine_name, notice), options)
        rendered = render(workspace, script, engine, options, progress)
        problems: list[Problem] = []
        record, mixed = mix_and_publish(workspace, script, rendered, engine.name, options.force,
                                        problems.append)
    cached = sum(1 for r in rendered if r.cached)
    return BuildResult(script, record, workspace.episodes_dir / record.slug, engine.name,
                       len(rendered) - cached, cached, mixed.measurement, problems)
