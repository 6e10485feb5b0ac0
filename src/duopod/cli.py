"""The ``duopod`` command: a thin typer layer over the library in ``duopod.build``."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED, DuopodError

if TYPE_CHECKING:
    from .pipeline import BuildOptions
    from .script.parse import Overrides
    from .speech.render import TurnEvent
    from .workspace import Workspace

app = typer.Typer(
    help="duopod turns a two-host dialogue script into a finished, published podcast episode.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="The show's folder (holds show.toml). "
                 "Default: the current folder or the nearest one above it."),
]
ScriptsArgument = Annotated[list[Path], typer.Argument(help="Dialogue script files.")]
TitleOption = Annotated[str | None, typer.Option(help="Episode title (overrides front matter).")]
DateOption = Annotated[str | None, typer.Option(help="Episode date, YYYY-MM-DD.")]
EncodingOption = Annotated[
    str | None, typer.Option(help="Read scripts in this encoding (e.g. gb18030), not UTF-8.")
]


# The pipeline's modules (numpy, scipy, jinja2, ...) are imported inside the commands, so
# `duopod --help` is instant and Ctrl-C during start-up is still a clean exit.


def _workspace(path: Path | None) -> Workspace:
    from .workspace import load_workspace

    return load_workspace(path)


def _overrides(title: str | None, date: str | None) -> Overrides:
    from .script.parse import Overrides

    return Overrides(title=title, date=date)


@app.command()
def check(
    scripts: ScriptsArgument,
    workspace: WorkspaceOption = None,
    title: TitleOption = None,
    date: DateOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Validate scripts and print their outline, without rendering anything.

    Example: duopod check scripts/2025-12-10-h200.md
    """
    from .pipeline import BuildOptions, check_scripts

    ws = _workspace(workspace)
    options = BuildOptions(encoding=encoding, overrides=_overrides(title, date))
    for script in check_scripts(ws, scripts, options):
        meta = script.meta
        out.print(f"[bold]{script.path}[/bold]: ok")
        out.print(f"  title     {meta.title}")
        out.print(f"  date      {meta.date.isoformat()}    slug  {meta.slug}")
        out.print(f"  turns     {len(script.turns)}    sections  {len(script.sections)}")
        chars = script.characters_by_host()
        for host in script.hosts:
            profile = ws.profiles[host]
            out.print(f"  host      {host}: {chars.get(host, 0)} characters "
                      f"(voices/{profile.path.name})")
        for section in script.sections:
            out.print(f"  section   {section.title}  (line {section.line})")
        if meta.source:
            src = meta.source
            out.print(f"  source    {src.provider or ''} {src.title or ''} "
                      f"{'(' + str(len(src.text)) + ' characters)' if src.text else ''}".rstrip())


@app.command()
def build(
    scripts: ScriptsArgument,
    workspace: WorkspaceOption = None,
    engine: Annotated[str, typer.Option(
        help="auto (edge-tts when reachable, else offline), edge, or espeak.")] = "auto",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Render every turn again.")]
    = False,
    concurrency: Annotated[int, typer.Option(min=1, max=16,
                                             help="Requests to the speech service at once, "
                                             "in total.")] = 4,
    retries: Annotated[int, typer.Option(min=1, max=20, help="Attempts per edge-tts request "
                                         "before the build stops.")] = 5,
    force: Annotated[bool, typer.Option(
        help="Overwrite an episode another script published under the same slug.")] = False,
    title: TitleOption = None,
    date: DateOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Render, mix and publish episodes into episodes/.

    Example: duopod build scripts/2025-12-10-h200.md --engine espeak
    """
    from .pipeline import BuildOptions, check_scripts, resolve_engine

    ws = _workspace(workspace)
    options = BuildOptions(engine=engine, use_cache=not no_cache, concurrency=concurrency,
                           retries=retries, force=force, encoding=encoding,
                           overrides=_overrides(title, date))
    check_scripts(ws, scripts, options)  # every script valid before anything is built
    options = replace(options, engine=resolve_engine(engine, _notice))
    for path in scripts:
        _build_one(ws, path, options)
    out.print(f"feed: {ws.episodes_dir / 'feed.xml'}")


def _notice(message: str) -> None:
    err.print(f"[yellow]note:[/yellow] {message}")


def _build_one(ws: Workspace, path: Path, options: BuildOptions) -> None:
    from .pipeline import build_episode
    from .publish.site import clock

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
        console=err, transient=True,
    ) as progress:
        task = progress.add_task(path.name, total=None, status="")
        counts = {"done": 0, "cached": 0}

        def on_event(event: TurnEvent) -> None:
            if event.status in counts:
                counts[event.status] += 1
            progress.update(
                task, completed=counts["done"] + counts["cached"],
                status=f"turn {event.turn.index + 1}: {event.status}"
                + (f" ({event.detail})" if event.detail else ""),
            )

        result = build_episode(ws, path, options, progress=on_event, notice=_notice)
        progress.update(task, total=len(result.script.turns))
    record = result.record
    out.print(
        f"[green]built[/green] {record['title']}  "
        f"{clock(record['duration'])} · {len(result.script.turns)} turns · "
        f"{len(record['timeline']['chapters'])} chapters · engine {result.engine} "
        f"({result.rendered} rendered, {result.cached} cached) · "
        f"{result.measurement.loudness_lufs:.1f} LUFS, "
        f"{result.measurement.true_peak_dbtp:.1f} dBTP"
    )
    out.print(f"  {result.directory / record['audio']['file']}")
    out.print(f"  {result.directory / 'index.html'}")


@app.command()
def mix(
    scripts: ScriptsArgument,
    workspace: WorkspaceOption = None,
    engine: Annotated[str, typer.Option(
        help="Whose cached speech to use: auto (the engine the episode was built with), "
        "edge or espeak.")] = "auto",
    force: Annotated[bool, typer.Option(help="See build --force.")] = False,
    title: TitleOption = None,
    date: DateOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Mix and publish again from cached speech, without rendering: to tune gaps, music or
    loudness in show.toml.

    Example: duopod mix scripts/2025-12-10-h200.md
    """
    from .pipeline import BuildOptions, check_scripts

    ws = _workspace(workspace)
    options = BuildOptions(engine=engine, force=force, encoding=encoding,
                           overrides=_overrides(title, date), cache_only=True)
    check_scripts(ws, scripts, options)
    for path in scripts:
        _build_one(ws, path, options)
    out.print(f"feed: {ws.episodes_dir / 'feed.xml'}")


@app.command()
def publish(workspace: WorkspaceOption = None) -> None:
    """Republish from the existing episodes: every episode page (their related and
    previous/next links), the site index and the feed. Renders no audio.

    Example: duopod publish
    """
    from .pipeline import republish

    ws = _workspace(workspace)
    records = republish(ws)
    out.print(f"published {len(records)} episode(s): {ws.episodes_dir / 'feed.xml'}")


@app.command()
def feed(workspace: WorkspaceOption = None) -> None:
    """Rebuild only episodes/feed.xml from the episodes' metadata.

    Example: duopod feed
    """
    from .pipeline import rebuild_feed

    ws = _workspace(workspace)
    path = rebuild_feed(ws)
    out.print(f"feed: {path}")


@app.command()
def serve(
    workspace: WorkspaceOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for the LAN).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")]
    = 8000,
) -> None:
    """Preview the site over HTTP (HEAD and Range requests, correct types), with a feed
    whose links point at the preview, so a podcast app can subscribe to it.

    Example: duopod serve --port 8000   (then subscribe to http://127.0.0.1:8000/feed.xml)
    """
    from .serve import make_server

    ws = _workspace(workspace)
    server = make_server(ws, host, port)
    address = f"http://{host}:{server.server_address[1]}"
    out.print(f"serving {ws.episodes_dir} at {address}/  (feed: {address}/feed.xml); "
              "Ctrl-C stops")
    try:
        server.serve_forever()
    finally:
        server.server_close()


@app.command()
def voices(
    engine: Annotated[str, typer.Option(help="An engine: see 'duopod engines'.")] = "espeak",
    locale: Annotated[str | None, typer.Option(
        help="Only this locale/language, e.g. zh-CN or cmn.")] = None,
) -> None:
    """List the voices an engine offers, to pick profiles from.

    Example: duopod voices --engine espeak --locale cmn
    """
    from .speech.engines import engine_spec

    spec = engine_spec(engine)
    table = Table(f"voice (for a profile's \\[{spec.name}] voice)", "language", "gender",
                  "description")
    for voice in spec.voices(locale):
        table.add_row(voice.name, voice.language, voice.gender, voice.description)
    out.print(table)


@app.command()
def engines() -> None:
    """List the speech engines, whether each can run here, and their licences.

    Example: duopod engines
    """
    from .speech.engines import registry

    table = Table("engine", "available here", "auto order", "what it is", "licence")
    for spec in registry().values():
        reason = spec.unavailable()
        table.add_row(spec.name, "yes" if reason is None else f"no: {reason}",
                      "-" if spec.auto_rank is None else str(spec.auto_rank), spec.summary,
                      spec.licence)
    out.print(table)


def _interrupted() -> None:
    err.print("duopod: interrupted; finished turns are cached and the published site is intact",
              markup=False, highlight=False)
    sys.exit(EXIT_INTERRUPTED)


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except DuopodError as exc:
        err.print(f"duopod: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        _interrupted()
    except OSError as exc:  # the disk: full, read-only, permissions
        where = f": {exc.filename}" if exc.filename else ""
        err.print(f"duopod: error: {exc.strerror or exc}{where}", markup=False, highlight=False)
        sys.exit(EXIT_FAILURE)
    except typer.TyperException as exc:  # usage errors: wrong option, missing argument
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(EXIT_BAD_INPUT)
    if code == EXIT_INTERRUPTED:  # typer turns Ctrl-C inside a command into Exit(130)
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)
