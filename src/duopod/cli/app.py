"""The ``duopod`` command: a thin typer layer over the library. Every command is one
library call (``duopod.build.build_scripts`` for building, wherever it runs); every line it
prints goes through ``display``, where producer text is shown literally."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED, DuopodError
from ..speech.engines import BUILTIN_ENGINES
from .building import build_and_report
from .display import err, notice, out, plain, styled

if TYPE_CHECKING:
    from ..publish import Problem
    from ..script.model import Script
    from ..script.parse import Overrides
    from ..show.workspace import Workspace

app = typer.Typer(
    help="duopod turns a two-host dialogue script into a finished, published podcast episode.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ENGINES = ", ".join(BUILTIN_ENGINES)
ENGINE_HELP = (f"auto (edge-tts when reachable, else the best offline engine every host has a "
               f"voice for), or one of {ENGINES}, or a plug-in (see 'duopod engines').")

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


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"duopod {version('duopod')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", help="Print duopod's version and exit.", callback=_print_version,
        is_eager=True)] = False,
) -> None:
    """duopod turns a two-host dialogue script into a finished, published podcast episode."""


# The pipeline's modules (numpy, scipy, jinja2, ...) are imported inside the commands, so
# `duopod --help` is instant and Ctrl-C during start-up is still a clean exit.


def _workspace(path: Path | None) -> Workspace:
    from ..show.workspace import load_workspace

    return load_workspace(path)


def _overrides(title: str | None, date: str | None) -> Overrides:
    from ..script.parse import Overrides

    return Overrides(title=title, date=date)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="A new or empty folder for the show.")],
    title: Annotated[str | None, typer.Option(help="The show's title.")] = None,
    language: Annotated[str | None, typer.Option(help="zh-CN or en-US.")] = None,
    hosts: Annotated[str | None, typer.Option(
        help="The hosts' names, comma-separated (default: two example hosts).")] = None,
    author: Annotated[str | None, typer.Option(help="Who makes the show.")] = None,
    email: Annotated[str | None, typer.Option(help="The feed owner's address.")] = None,
    base_url: Annotated[str, typer.Option(help="Where episodes/ will be hosted.")]
    = "https://podcast.example.com",
) -> None:
    """Start a new show: show.toml, voice profiles, a first script, cover and jingles.
    Asks for the title and language when they are not given (and a terminal is there).

    Example: duopod init mishow --title "芯闻两人谈" --language zh-CN --hosts 雷总,董小姐
    """
    from ..starter import create_show

    interactive = sys.stdin.isatty()
    if title is None:
        title = typer.prompt("Show title") if interactive else "My Show"
    if language is None:
        language = typer.prompt("Language (zh-CN or en-US)", default="zh-CN") if interactive \
            else "zh-CN"
    names = tuple(re.split(r"[,，、]", hosts)) if hosts else ()
    show = create_show(folder, title=title, language=language, hosts=names,
                       author=author or "", email=email or "", base_url=base_url)
    styled(out, "[green]created[/green] {folder} ({count} files)", folder=show.folder,
        count=len(show.files))
    for path in show.files:
        plain(out, f"  {path.relative_to(show.folder)}")
    plain(out, f"next: cd {show.folder} && duopod build scripts/*.md")


@app.command()
def new(
    title: Annotated[str, typer.Argument(help="The episode's title.")],
    workspace: WorkspaceOption = None,
    date: DateOption = None,
    slug: Annotated[str | None, typer.Option(help="File name (without .md).")] = None,
) -> None:
    """Write a dated script skeleton with the show's hosts into scripts/.

    Example: duopod new "芯片出口新规" --date 2025-12-10
    """
    from ..script.parse import parse_date
    from ..starter import new_script

    ws = _workspace(workspace)
    when = parse_date(date, None, None, "--date") if date else None
    styled(out, "[green]wrote[/green] {path}", path=new_script(ws, title, date=when, slug=slug))


@app.command()
def check(
    scripts: ScriptsArgument,
    workspace: WorkspaceOption = None,
    title: TitleOption = None,
    date: DateOption = None,
    encoding: EncodingOption = None,
    engine: Annotated[str | None, typer.Option(
        help="Also check what a build with this engine will use: auto or an engine (see "
        "'duopod engines').")] = None,
) -> None:
    """Validate scripts and print their outline, without rendering anything.

    Example: duopod check scripts/2025-12-10-h200.md
    """
    from ..build.options import BuildOptions
    from ..build.preflight import check_scripts
    from ..speech.choice import host_voices
    from .checks import print_check_extras

    ws = _workspace(workspace)
    options = BuildOptions(encoding=encoding, overrides=_overrides(title, date))
    for script in check_scripts(ws, scripts, options):
        meta = script.meta
        styled(out, "[bold]{path}[/bold]: ok", path=script.path)
        out.print(f"  title     {meta.title}")
        out.print(f"  date      {meta.date.isoformat()}    slug  {meta.slug}")
        life = meta.lifecycle
        when = life.publish_at.isoformat() if life.publish_at else (
            f"{meta.date.isoformat()} {(life.time or ws.show.publish_time):%H:%M} "
            f"{ws.show.timezone}")
        out.print(f"  publish   {life.status}, {when} · {life.episode_type}"
                  + (f" · season {life.season}" if life.season else "")
                  + f" · language {life.language or ws.show.language}")
        out.print(f"  turns     {len(script.turns)}    sections  {len(script.sections)}")
        chars = script.characters_by_host()
        for host in script.speakers:
            profile = ws.profiles[host]
            out.print(f"  host      {host}: {chars.get(host, 0)} characters "
                      f"(voices/{profile.path.name})", markup=False)
            out.print(f"  voices    {host_voices(profile, life.language or ws.show.language)}",
                      markup=False)
        for section in script.sections:
            out.print(f"  section   {section.title}  (line {section.line})")
        _print_lexicon_hits(ws, script)
        print_check_extras(out, ws, script, engine, notice)
        _print_draft_problems(script)
        if meta.source:
            src = meta.source
            out.print(f"  source    {src.provider or ''} {src.title or ''} "
                      f"{'(' + str(len(src.text)) + ' characters)' if src.text else ''}".rstrip())


@app.command("import")
def import_page(
    page: Annotated[Path, typer.Argument(help="An episode page copied as text.")],
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Folder for the script; its source goes to sources/ inside it.")]
    = Path("scripts"),
    url: Annotated[str | None, typer.Option(
        help="The original article's address, when the page does not give it.")] = None,
    encoding: EncodingOption = None,
) -> None:
    """Turn a published episode page (copied as text) into a script and its source file.

    Example: duopod import page.txt --out scripts/
    """
    from ..script.importer import import_page as run_import

    result = run_import(page, out_dir, url=url, encoding=encoding)
    out.print(f"wrote {result.script_path}: {result.turns} turns, hosts "
              f"{', '.join(result.hosts)}", markup=False, highlight=False)
    if result.source_path:
        out.print(f"wrote {result.source_path}", markup=False, highlight=False)
    for (heading, turn), where in zip(result.sections, result.placed, strict=True):
        out.print(f"  section   ## {heading}  (before turn {turn}, {where})", markup=False,
                  highlight=False)
    for dropped in result.dropped:
        out.print(f"  dropped   line {dropped.line}: {dropped.text}  ({dropped.reason})",
                  markup=False, highlight=False)
    for note in result.notes:
        out.print(f"  note      {note}", markup=False, highlight=False)


def _print_draft_problems(script: Script) -> None:
    """What ``duopod draft`` found in this script when it wrote it (its ``.draft.json``):
    unsupported claims, turns off the language, the length, echoes, turn by turn."""
    import json

    sidecar = script.path.with_suffix(".draft.json")
    if not sidecar.is_file():
        return
    try:
        report = json.loads(sidecar.read_text(encoding="utf-8"))
        problems = [(int(p["turn"]), str(p["check"]), str(p["message"]))
                    for p in report.get("problems", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        plain(err, f"duopod: warning: {sidecar}: not a draft report duopod can read")
        return
    plain(out, f"  draft     {len(problems)} problem(s) found when drafted ({sidecar.name})")
    for turn, check, message in problems:
        where = f"turn {turn}" if turn else "draft"
        plain(out, f"  draft     {where}: {check}: {message}")


def _print_lexicon_hits(ws: Workspace, script: Script) -> None:
    """Which pronunciation entries the script's lines set off, and how often."""
    from ..speech.lexicon import hit_counts, language_of, lexicon_entries
    from ..text import split_sentences

    entries = lexicon_entries(ws, script)
    if not entries:
        return
    texts = [s for turn in script.turns for s in split_sentences(turn.text)]
    hits = hit_counts(entries, language_of(ws, script), texts)
    if not hits:
        out.print(f"  lexicon   {len(entries)} entries, none in this script")
    for entry, count in hits:
        scope = f" [{entry.scope}]" if entry.scope else ""
        where = entry.where.removeprefix(f"{ws.root}/")
        plain(out, f"  lexicon   {entry.written} → {entry.spoken} ×{count}{scope}  ({where})")


@app.command()
def say(
    text: Annotated[str, typer.Argument(help="What to say (one line; several sentences "
                                        "are fine).")],
    host: Annotated[str, typer.Option(help="Whose voice: a host with a profile in voices/.")],
    workspace: WorkspaceOption = None,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "auto",
    out_path: Annotated[Path, typer.Option("--out", help="A .wav or .mp3 file to write.")]
    = Path("say.wav"),
) -> None:
    """Speak one line in a host's voice through the show's lexicon, to hear a pronunciation
    fix without building an episode.

    Example: duopod say "H20和H200不是一回事。" --host 雷总 --engine espeak --out say.mp3
    """
    from ..build.options import BuildOptions
    from ..build.steps import make_engine
    from ..speech.choice import engine_for_voice
    from ..speech.say import say_line

    ws = _workspace(workspace)
    name = engine_for_voice(ws.profile_for(host), engine, notice)
    said = say_line(ws, text, host, make_engine(name, BuildOptions()), out_path)
    if said.spoken != said.written:
        plain(out, f"said as: {''.join(said.spoken)}")
    for entry, count in sorted(said.hits.items(), key=lambda item: item[0].written):
        where = entry.where.removeprefix(f"{ws.root}/")
        plain(out, f"  lexicon   {entry.written} → {entry.spoken} ×{count}  ({where})")
    plain(out, f"{said.path}: {said.speech.duration:.1f} s, engine {name}, host {host}")


EngineOption = Annotated[str, typer.Option(help=ENGINE_HELP)]
JobsOption = Annotated[int | None, typer.Option(
    min=1, max=64, help="Episodes built at once, each in a process of its own (default: as "
    "many as the cores hold whole builds; one build keeps about 1.7 cores busy). "
    "--concurrency stays the total across them.")]


@app.command()
def build(
    scripts: ScriptsArgument,
    workspace: WorkspaceOption = None,
    engine: EngineOption = "auto",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Render every turn again.")]
    = False,
    concurrency: Annotated[int, typer.Option(min=1, max=16,
                                             help="Requests to the speech service at once, "
                                             "in total.")] = 4,
    retry_for: Annotated[float, typer.Option(
        "--retry-for", min=0, max=3600, metavar="SECONDS",
        help="Keep retrying a failing network engine's request this long (backing off up "
             "to 30 s between attempts) before the build stops.")] = 180.0,
    force: Annotated[bool, typer.Option(
        help="Overwrite an episode another script published under the same slug.")] = False,
    title: TitleOption = None,
    date: DateOption = None,
    encoding: EncodingOption = None,
    jobs: JobsOption = None,
    queue: Annotated[str | None, typer.Option(
        "--queue", help="Build on the Redis queue (the show's 'duopod worker' processes) "
        "and wait for the outcomes, e.g. redis://buildhost:6379/0.")] = None,
    deploy: Annotated[bool, typer.Option(
        "--deploy", help="Deploy the site after landing (see 'duopod deploy'; on the "
        "queue, the publish job deploys).")] = False,
    target: Annotated[str | None, typer.Option(
        "--target", help="With --deploy: a deploy.NAME table of show.toml (default: the "
        "only one).")] = None,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Then hear each episode as a listener does (see 'duopod verify'): "
        "exit 1 if a sentence is flagged, and with --deploy deploy nothing.")] = False,
) -> None:
    """Render, mix and publish episodes into episodes/.

    Example: duopod build scripts/*.md --engine espeak --jobs 2
    """
    from ..build.options import BuildOptions

    options = BuildOptions(engine=engine, use_cache=not no_cache, concurrency=concurrency,
                           retry_for=retry_for, force=force, encoding=encoding,
                           overrides=_overrides(title, date),
                           deploy=(target or "") if deploy else None, verify=verify)
    raise typer.Exit(build_and_report(_workspace(workspace), scripts, options, jobs, queue))


QueueOption = Annotated[str | None, typer.Option(
    "--queue", help="The Redis the jobs go through (default: $DUOPOD_QUEUE, else "
    "redis://127.0.0.1:6379/0).")]


@app.command()
def enqueue(
    scripts: ScriptsArgument,
    workspace: WorkspaceOption = None,
    queue: QueueOption = None,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP + " auto is decided here.")]
    = "auto",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Render every turn again.")]
    = False,
    concurrency: Annotated[int, typer.Option(min=1, max=16,
                                             help="Turns rendered at once per worker.")] = 4,
    force: Annotated[bool, typer.Option(help="See build --force.")] = False,
) -> None:
    """Submit scripts to the build queue; 'duopod worker' processes build and publish them.

    Example: duopod enqueue scripts/*.md --queue redis://buildhost:6379/0
    """
    from ..build.options import BuildOptions
    from ..speech.choice import resolve_engine
    from .queue import enqueue_cli

    ws = _workspace(workspace)
    options = BuildOptions(engine=resolve_engine(engine, notice), use_cache=not no_cache,
                           concurrency=concurrency, force=force)
    enqueue_cli(ws, scripts, options, queue, out)


@app.command()
def worker(
    workspace: WorkspaceOption = None,
    queue: QueueOption = None,
    queues: Annotated[str, typer.Option(
        help="Which jobs to take: build, publish or both (comma-separated).")]
    = "build,publish",
    heartbeat: Annotated[float, typer.Option(
        min=1, help="Seconds of silence after which a worker's jobs are given to another.")]
    = 15.0,
) -> None:
    """Take build and publish jobs from the queue until stopped (Ctrl-C or SIGTERM), on
    any machine that shares the show's .duopod/ and episodes/ folders.

    Example: duopod worker --queue redis://buildhost:6379/0
    """
    from .queue import worker_cli

    worker_cli(_workspace(workspace), queue, tuple(q.strip() for q in queues.split(",")),
               heartbeat, err)


queue_app = typer.Typer(help="The distributed build queue.", no_args_is_help=True)
app.add_typer(queue_app, name="queue")


@queue_app.command("status")
def queue_status(workspace: WorkspaceOption = None, queue: QueueOption = None) -> None:
    """This show's jobs: queued, running, failed and done, newest first.

    Example: duopod queue status --queue redis://buildhost:6379/0
    """
    from .queue import status_cli

    status_cli(_workspace(workspace), queue, out)


def _warn(problems: list[Problem]) -> None:
    for problem in problems:
        err.print(f"duopod: warning: {problem}", markup=False, highlight=False, soft_wrap=True)


def _exit_for(problems: list[Problem]) -> None:
    """Everything else was written; exit 1 if an episode could not be listed as asked."""
    if any(p.fatal for p in problems):
        raise typer.Exit(EXIT_FAILURE)


@app.command()
def mix(
    scripts: ScriptsArgument,
    workspace: WorkspaceOption = None,
    engine: Annotated[str, typer.Option(
        help="Whose cached speech to use: auto (the engine the episode was built with), "
        f"or one of {ENGINES}.")] = "auto",
    force: Annotated[bool, typer.Option(help="See build --force.")] = False,
    title: TitleOption = None,
    date: DateOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Mix and publish again from cached speech, without rendering: to tune gaps, music or
    loudness in show.toml.

    Example: duopod mix scripts/2025-12-10-h200.md
    """
    from ..build.options import BuildOptions

    options = BuildOptions(engine=engine, force=force, encoding=encoding,
                           overrides=_overrides(title, date), cache_only=True)
    raise typer.Exit(build_and_report(_workspace(workspace), scripts, options, None, None))


@app.command()
def publish(workspace: WorkspaceOption = None) -> None:
    """Republish from the existing episodes: every episode page (their related and
    previous/next links), the site index and the feed. Renders no audio.

    Example: duopod publish
    """
    from ..publish import republish

    ws = _workspace(workspace)
    listing = republish(ws)
    _warn(listing.problems)
    out.print(f"published {len(listing.listed)} episode(s): {ws.episodes_dir / 'feed.xml'}")
    _exit_for(listing.problems)


@app.command()
def unpublish(
    slug: Annotated[str, typer.Argument(help="The episode's folder name in episodes/.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Take an episode out of the feed and the site; its folder is kept in
    .duopod/unpublished/ and building its script again restores it with the same GUID.

    Example: duopod unpublish 2025-12-10-xin-pian-chu-kou-xin-gui
    """
    from ..publish import unpublish_episode

    ws = _workspace(workspace)
    record = unpublish_episode(ws, slug)
    out.print(f"unpublished {record.title} ({slug}); GUID {record.guid} is remembered")


@app.command()
def feed(workspace: WorkspaceOption = None) -> None:
    """Rebuild only episodes/feed.xml from the episodes' metadata.

    Example: duopod feed
    """
    from ..publish import rebuild_feed

    ws = _workspace(workspace)
    listing = rebuild_feed(ws)
    _warn(listing.problems)
    out.print(f"feed: {ws.episodes_dir / 'feed.xml'}")
    _exit_for(listing.problems)


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
    from ..serve import Preview, run

    ws = _workspace(workspace)

    def ready(preview: Preview) -> None:
        out.print(f"serving {ws.episodes_dir} at {preview.url}/  (feed: {preview.url}/feed.xml)"
                  "; Ctrl-C stops")
        out.file.flush()  # a script reading the address through a pipe needs it now

    run(ws, host, port, ready=ready)


@app.command()
def voices(
    engine: Annotated[str, typer.Option(help="An engine: see 'duopod engines'.")] = "espeak",
    locale: Annotated[str | None, typer.Option(
        help="Only this locale/language, e.g. zh-CN or cmn.")] = None,
) -> None:
    """List the voices an engine offers, to pick profiles from.

    Example: duopod voices --engine espeak --locale cmn
    """
    from ..speech.engines import engine_spec

    spec = engine_spec(engine)
    table = Table(f"voice (for a profile's [{spec.name}] voice)", "language", "gender",
                  "description")
    for voice in spec.voices(locale):
        table.add_row(voice.name, voice.language, voice.gender, voice.description)
    out.print(table)


@app.command()
def engines() -> None:
    """List the speech engines, whether each can run here, and their licences.

    Example: duopod engines
    """
    from ..speech.engines import registry

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
        err.print(f"duopod: error: {exc.strerror or exc}{where}", markup=False, highlight=False,
                  soft_wrap=True)
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

from .deploy import deploy as _deploy  # noqa: E402

app.command("deploy")(_deploy)

from .draft import draft as _draft  # noqa: E402  (duopod draft: the writers' room)

app.command("draft")(_draft)

from .clip import clip as _clip  # noqa: E402  (duopod clip: a module of its own)

app.command("clip")(_clip)

from .verify import verify as _verify  # noqa: E402  (duopod verify: hear what listeners hear)

app.command("verify")(_verify)

from .translate import translate as _translate  # noqa: E402  (versions in other languages)

app.command("translate")(_translate)

from .studio import studio as _studio  # noqa: E402  (duopod studio: the web app)

app.command("studio")(_studio)
