"""The whole pipeline: parse, speak, mix, publish. The CLI is a thin layer over this."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InputError
from .mix.encode import Measurement
from .mix.master import master_and_encode
from .mix.plan import Layout, plan_mix
from .mix.tags import write_tags
from .publish.site import (
    description,
    episode_notes,
    episode_record,
    load_records,
    publish_site,
    record_for_script,
    settle_identity,
    staging_dir,
    write_episode_files,
    write_feed,
)
from .publish.swap import recover, script_lock, site_lock, swap_into_place
from .script.model import Script
from .script.parse import Overrides, parse_script
from .speech.engines import Engine, get_engine
from .speech.model import RenderedTurn
from .speech.render import ProgressCallback, render_turns_async
from .workspace import Workspace

Notice = Callable[[str], None]


@dataclass(frozen=True)
class BuildOptions:
    engine: str = "auto"
    use_cache: bool = True
    cache_only: bool = False
    concurrency: int = 4
    retry_for: float = 180.0
    """Seconds to keep retrying an edge-tts request (timeouts, dropped connections,
    throttling, outages) from its first failure."""
    force: bool = False
    encoding: str | None = None
    overrides: Overrides = field(default_factory=Overrides)


@dataclass
class BuildResult:
    script: Script
    record: dict[str, Any]
    directory: Path
    engine: str
    rendered: int
    cached: int
    measurement: Measurement


def load_script(workspace: Workspace, path: Path, options: BuildOptions) -> Script:
    """Parse and validate a script against the workspace (hosts need voice profiles)."""
    script = parse_script(path, encoding=options.encoding, overrides=options.overrides,
                          workspace=workspace.root, known_hosts=tuple(workspace.profiles))
    workspace.profiles_for(script)
    return script


def make_engine(name: str, options: BuildOptions) -> Engine:
    if name == "edge":
        from .speech.engines.edge import RetryPolicy

        return get_engine(name, retry=RetryPolicy(budget=options.retry_for))
    return get_engine(name)


def resolve_engine(name: str, notice: Notice | None = None) -> str:
    """``auto`` becomes edge when its service answers, else espeak (and says so)."""
    if name != "auto":
        return name
    from .speech.engines.edge import service_reachable

    if service_reachable():
        return "edge"
    if notice:
        notice("Microsoft's speech service is not reachable: using the offline engine "
               "(espeak-ng)")
    return "espeak"


def cached_engine(workspace: Workspace, script: Script) -> str:
    """The engine the published episode was rendered with (for re-mixing), else espeak."""
    from .publish.site import existing_record

    record = existing_record(workspace, script.meta.slug) or {}
    return record.get("engine", "espeak")


def remix_episode(workspace: Workspace, path: Path, options: BuildOptions | None = None,
                  *, notice: Notice | None = None) -> BuildResult:
    """Mix and publish again from cached speech only: to tune gaps, music or loudness."""
    options = replace(options or BuildOptions(), cache_only=True, use_cache=True)
    return build_episode(workspace, path, options, notice=notice)


def render(workspace: Workspace, script: Script, engine: Engine, options: BuildOptions,
           progress: ProgressCallback | None = None) -> list[RenderedTurn]:
    return asyncio.run(render_turns_async(
        script, workspace, engine, use_cache=options.use_cache,
        cache_only=options.cache_only, concurrency=options.concurrency, progress=progress,
    ))


def mix(workspace: Workspace, script: Script, rendered: list[RenderedTurn]) -> Layout:
    show = workspace.show
    audio = replace(show.audio, **script.meta.pacing)  # the script's own pacing wins
    return plan_mix(script, rendered, audio, show.music, show.language)


def publish(workspace: Workspace, script: Script, layout: Layout, engine: str,
            force: bool = False) -> tuple[dict, Path, Measurement]:
    """Encode and tag into a staging folder (other builds carry on meanwhile), then, holding
    the site lock, write the pages, swap the folder into place and rebuild the feed."""
    slug = script.meta.slug
    staging = staging_dir(workspace, slug)
    try:
        audio = staging / f"{slug}.mp3"
        # the show notes (jieba loads a large dictionary) are worked out while ffmpeg encodes
        with ThreadPoolExecutor(max_workers=1) as background:
            pending_notes = background.submit(episode_notes, workspace, script, layout.timeline)
            measurement = master_and_encode(layout, workspace.show.audio, audio)
            notes = pending_notes.result()
        loudness = {"loudness_lufs": measurement.loudness_lufs,
                    "true_peak_dbtp": measurement.true_peak_dbtp}
        # tags go in before the record so the record's byte length is the final one
        write_tags(audio, script.meta, workspace.show, layout.timeline, description(notes))
        with site_lock(workspace.cache_dir):
            recover(workspace.episodes_dir)
            records = load_records(workspace)  # read once: the helpers below share them
            settle_identity(workspace, script, force, records)  # another build may have landed
            record = episode_record(workspace, script, layout.timeline, audio, loudness, notes,
                                    records)
            record["engine"] = engine
            write_episode_files(workspace, staging, record, records)
            target = workspace.episodes_dir / slug
            moved_from = _previous_folder(workspace, script, slug, records)
            swap_into_place(staging, target)
            if moved_from is not None:  # a new slug in the front matter: the episode moved
                shutil.rmtree(moved_from, ignore_errors=True)
            publish_site(workspace, changed=slug)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record, target, measurement


def _previous_folder(workspace: Workspace, script: Script, slug: str,
                     records: list[dict[str, Any]]) -> Path | None:
    previous = record_for_script(workspace, script, records)
    if previous and previous["slug"] != slug:
        return workspace.episodes_dir / previous["slug"]
    return None


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
        layout = mix(workspace, script, rendered)
        record, target, measurement = publish(workspace, script, layout, engine.name,
                                              options.force)
    cached = sum(1 for r in rendered if r.cached)
    return BuildResult(script, record, target, engine.name, len(rendered) - cached, cached,
                       measurement)


def republish(workspace: Workspace) -> list[dict[str, Any]]:
    """Every page, the index and the feed again from the published episodes (no audio)."""
    with site_lock(workspace.cache_dir):
        recover(workspace.episodes_dir)
        return publish_site(workspace, all_pages=True)


def rebuild_feed(workspace: Workspace) -> Path:
    """Only feed.xml again, from the episodes' metadata."""
    with site_lock(workspace.cache_dir):
        return write_feed(workspace)


def check_scripts(workspace: Workspace, paths: list[Path], options: BuildOptions
                  ) -> list[Script]:
    scripts = [load_script(workspace, p, options) for p in paths]
    slugs: dict[str, Path] = {}
    for script in scripts:
        if script.meta.slug in slugs:
            raise InputError(
                f"slug {script.meta.slug!r} is also used by {slugs[script.meta.slug]}",
                script.path, 1,
            )
        slugs[script.meta.slug] = script.path
    return scripts
