"""The studio's aiohttp application: pages, the JSON the editor talks to, the build's
events and the site's preview, behind ``security``'s guard.

Every handler is a library call the CLI also makes; what it answers is read from disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import xml.etree.ElementTree as ElementTree
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from aiohttp import web

from ..answers import AnswerError, read_json
from ..build.options import BuildOptions
from ..errors import DuopodError, InputError
from ..script.model import Script
from ..serve import attach_preview
from ..shapes import ShapeError, shaped
from ..show.workspace import ShowKeeper, Workspace
from ..speech.choice import resolve_engine
from ..speech.engines import engine_names
from ..speech.lexicon import script_speller
from ..speech.render import stale_turns
from . import library, unsaved
from .bodies import (
    AsideBody,
    BuildBody,
    CheckBody,
    DraftBody,
    HearBody,
    LexiconBody,
    NewBody,
    SaveBody,
    StaleBody,
    StatusBody,
    UnpublishBody,
    UnsavedBody,
)
from .drafting import draft_from_article, writer_configured
from .events import Builds, stream
from .hearing import (
    Hearing,
    engine_named,
    exchange_of,
    hear_exchange,
    hearing,
    one_turn,
    wav_header,
)
from .security import PAGE_POLICY, Guard, guard_middleware, is_loopback, set_headers
from .timeline import episode_view

log = logging.getLogger("duopod.studio")
MAX_BODY = 4 * 1024 * 1024
Body = TypeVar("Body")


@dataclass
class Studio:
    """A running studio: where it listens, its token (None on loopback), how to stop it."""

    host: str
    port: int
    token: str | None
    runner: web.AppRunner

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def close(self) -> None:
        await self.runner.cleanup()


_SHOW = web.AppKey("show", ShowKeeper)
_GUARD = web.AppKey("guard", Guard)
_BUILDS = web.AppKey("builds", Builds)
_ENGINE = web.AppKey("engine", str)
_PAGES = web.AppKey("pages", jinja2.Environment)
_PREVIEW = web.AppKey[Callable[[web.Request], Awaitable[web.StreamResponse]]]("preview")


def make_app(root: Path, *, token: str | None, loopback: bool = True,
             engine: str = "espeak") -> web.Application:
    """The studio over the show in ``root``. ``token``: what every request must present
    (None only on a loopback bind); ``engine``: the one the pages start with."""
    if token is None and not loopback:
        raise InputError("a studio bound beyond loopback needs an access token")
    guard = Guard(token=token, loopback=loopback)
    app = web.Application(middlewares=[guard_middleware(guard)], client_max_size=MAX_BODY)
    app.on_response_prepare.append(set_headers)
    app[_SHOW] = ShowKeeper(root)
    app[_GUARD] = guard
    app[_BUILDS] = Builds()
    app[_ENGINE] = engine
    app[_PAGES] = jinja2.Environment(
        loader=jinja2.PackageLoader("duopod.studio", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined)
    app.router.add_get("/", episodes_page)
    app.router.add_get("/edit/{name:.+}", editor_page)
    app.router.add_get("/static/{file}", static_file)
    app.router.add_get("/api/script", get_script)
    app.router.add_post("/api/check", check)
    app.router.add_post("/api/save", save)
    app.router.add_post("/api/new", new_episode)
    app.router.add_post("/api/draft", draft)
    app.router.add_post("/api/hear", hear_line)
    app.router.add_post("/api/stale", stale)
    app.router.add_post("/api/build", build)
    app.router.add_get("/api/builds/{id}/events", build_events)
    app.router.add_post("/api/lexicon", lexicon)
    app.router.add_post("/api/status", set_status)
    app.router.add_post("/api/unpublish", unpublish)
    app.router.add_get("/api/feed", feed_state)
    app.router.add_get("/api/unsaved", get_unsaved)
    app.router.add_post("/api/unsaved", keep_unsaved)
    app.router.add_post("/api/diff", diff)
    app.router.add_post("/api/aside", aside)
    app.router.add_get("/api/episode", episode)
    app.router.add_get("/site/{tail:.*}", site)
    app[_PREVIEW] = attach_preview(app, app[_SHOW].current())
    return app


def _workspace(request: web.Request) -> Workspace:
    """The show as it is on disk now: kept loaded, read again only when show.toml, a voice
    profile or the cover changed (``ShowKeeper``)."""
    return request.app[_SHOW].current()


def _error(exc: DuopodError, status: int = 422) -> web.Response:
    body: dict[str, object] = {"error": str(exc)}
    if isinstance(exc, InputError):
        body["line"] = exc.line
    if isinstance(exc, library.Conflict):
        status = 409
        body["current"] = exc.current
    return web.json_response(body, status=status)


async def _body(request: web.Request, shape: type[Body]) -> Body:
    """The request's JSON body as the endpoint's dataclass (``bodies``), read within
    ``answers.read_json``'s bounds as a server's answer is; a body that is not JSON, or a
    field of the wrong shape, is a 400 naming it in one line."""
    try:
        data = read_json(await request.read(), "", "the request", limit=MAX_BODY)
    except AnswerError as exc:
        raise web.HTTPBadRequest(text=f"{exc.reason}\n") from None
    try:
        return shaped(shape, data)
    except ShapeError as exc:
        raise web.HTTPBadRequest(text=f"{exc}\n") from None


def _engine(request: web.Request, chosen: str | None) -> str:
    """The engine the request names, else the one the studio started with."""
    return resolve_engine(chosen or request.app[_ENGINE])


def _render(request: web.Request, template: str, **values: Any) -> web.Response:
    page = request.app[_PAGES].get_template(template).render(
        csrf=request.app[_GUARD].csrf, engines=engine_names(), engine=request.app[_ENGINE],
        **values)
    return web.Response(text=page, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store",
                                 "Content-Security-Policy": PAGE_POLICY})


def handles_errors(handler: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except DuopodError as exc:
            return _error(exc)
    wrapped.__name__ = handler.__name__
    return wrapped


# ---------------------------------------------------------------- pages


async def episodes_page(request: web.Request) -> web.Response:
    workspace = _workspace(request)
    rows = await asyncio.to_thread(library.episode_rows, workspace)
    return _render(request, "episodes.html", show=workspace.show.title, rows=rows,
                   feed=_feed_items(workspace), writer=writer_configured(workspace),
                   unsaved=unsaved.kept_names(workspace))


async def editor_page(request: web.Request) -> web.Response:
    workspace = _workspace(request)
    name = request.match_info["name"]
    try:
        path = library.script_path(workspace, name)
        text, sha = library.read_script(workspace, path)
    except (InputError, OSError):
        raise web.HTTPNotFound(text="no such script\n") from None
    row = library.episode_row(workspace, name)
    return _render(request, "editor.html", show=workspace.show.title, name=name, text=text,
                   sha=sha, row=row, language=workspace.show.language)


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["file"]
    kinds = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}
    suffix = Path(name).suffix
    folder = resources.files("duopod.studio") / "static"
    if suffix not in kinds or "/" in name or name.startswith("."):
        raise web.HTTPNotFound()
    target = folder / name
    if not target.is_file():
        raise web.HTTPNotFound()
    return web.Response(body=target.read_bytes(), content_type=kinds[suffix], charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


# ---------------------------------------------------------------- the editor


@handles_errors
async def get_script(request: web.Request) -> web.Response:
    workspace = _workspace(request)
    path = library.script_path(workspace, request.query.get("name", ""))
    try:
        text, sha = library.read_script(workspace, path)
    except OSError:
        raise web.HTTPNotFound(text="no such script\n") from None
    return web.json_response({"text": text, "sha256": sha})


@handles_errors
async def check(request: web.Request) -> web.Response:
    """The editor's text checked as typed; with ``engine``, also how many of its turns a
    build would render (the count beside Build, live, before any save)."""
    body = await _body(request, CheckBody)
    workspace = _workspace(request)
    path = library.script_path(workspace, body.name)
    checked = await asyncio.to_thread(library.check_text, workspace, path, body.text)
    answer: dict[str, object] = {"problems": [p.to_json() for p in checked.problems],
                                 "outline": checked.outline}
    if body.engine is not None and checked.script is not None:
        name = _engine(request, body.engine)
        turns = await asyncio.to_thread(_stale_of, workspace, checked.script, name)
        answer["stale"] = {"stale": turns, "turns": len(checked.script.turns), "engine": name}
    return web.json_response(answer)


@handles_errors
async def save(request: web.Request) -> web.Response:
    """Write the editor's text over the version it names (else 409, nothing written).
    ``over_theirs``: the producer chose "keep mine" in a conflict; the version on disk it
    replaces is copied into ``.duopod/studio/kept/`` first, and the answer says where."""
    body = await _body(request, SaveBody)
    workspace = _workspace(request)
    path = library.script_path(workspace, body.name)
    answer: dict[str, object] = {}
    if body.over_theirs:
        theirs, version = library.read_script(workspace, path)
        if version != body.sha256:
            raise library.Conflict(path, version)
        answer["kept"] = _shown(workspace, unsaved.set_aside(workspace, body.name, theirs,
                                                             "theirs"))
    answer["sha256"] = library.save_script(workspace, path, body.text, body.sha256)
    unsaved.drop(workspace, body.name)
    return web.json_response(answer)


def _shown(workspace: Workspace, path: Path) -> str:
    """A path in the show's folder as the producer would type it."""
    return path.relative_to(workspace.root).as_posix()


async def get_unsaved(request: web.Request) -> web.Response:
    """The script's unsaved text kept in ``.duopod/studio/unsaved/`` (``{}``: none)."""
    workspace = _workspace(request)
    name = request.query.get("name", "")
    try:
        library.script_path(workspace, name)
    except InputError as exc:
        return _error(exc)
    kept = unsaved.kept(workspace, name)
    return web.json_response(kept.to_json() if kept else {})


@handles_errors
async def keep_unsaved(request: web.Request) -> web.Response:
    """Keep the editor's unsaved text (``text`` null: there is none any more)."""
    body = await _body(request, UnsavedBody)
    workspace = _workspace(request)
    path = library.script_path(workspace, body.name)
    # On the event loop, not a worker thread, as save's write and drop are: a keep sent
    # just before a save and answered after it must not bring back what the save settled.
    # Text that is the file on disk is nothing unsaved (the save has landed it).
    if body.text is None or body.text == library.read_script(workspace, path)[0]:
        unsaved.drop(workspace, body.name)
        return web.json_response({"kept": False})
    unsaved.keep(workspace, unsaved.Unsaved(body.name, body.text, body.base, body.at))
    return web.json_response({"kept": True})


@handles_errors
async def diff(request: web.Request) -> web.Response:
    """The editor's text against the file on disk now, line by line (difflib), with the
    file's text and version: what a conflict's "see the difference" shows."""
    body = await _body(request, AsideBody)
    workspace = _workspace(request)
    path = library.script_path(workspace, body.name)
    theirs, version = library.read_script(workspace, path)
    return web.json_response({"theirs": theirs, "sha256": version,
                              "lines": library.difference(theirs, body.text)})


@handles_errors
async def aside(request: web.Request) -> web.Response:
    """Copy the editor's text into ``.duopod/studio/kept/`` before the producer takes the
    other version in a conflict; the answer names the copy."""
    body = await _body(request, AsideBody)
    workspace = _workspace(request)
    library.script_path(workspace, body.name)
    kept = await asyncio.to_thread(unsaved.set_aside, workspace, body.name, body.text,
                                   "mine")
    return web.json_response({"kept": _shown(workspace, kept)})


@handles_errors
async def episode(request: web.Request) -> web.Response:
    """The script's built episode as the timeline draws it (``{"episode": null}``: not
    built): turns and sentences, chapters, the MP3's levels, verify's flags."""
    workspace = _workspace(request)
    path = library.script_path(workspace, request.query.get("name", ""))
    try:
        text = library.read_script(workspace, path)[0]
    except OSError:
        raise web.HTTPNotFound(text="no such script\n") from None
    checked = await asyncio.to_thread(library.check_text, workspace, path, text)
    if checked.script is None:
        return web.json_response({"episode": None})
    view = await asyncio.to_thread(episode_view, workspace, checked.script.meta.slug)
    return web.json_response({"episode": view})


@handles_errors
async def new_episode(request: web.Request) -> web.Response:
    from ..starter import new_script

    body = await _body(request, NewBody)
    workspace = _workspace(request)
    path = new_script(workspace, body.title)
    name = path.relative_to(workspace.root / library.SCRIPTS).as_posix()
    return web.json_response({"name": name, "url": f"/edit/{name}"})


@handles_errors
async def draft(request: web.Request) -> web.Response:
    """A script drafted from a pasted article by the writers' room (``duopod draft``)."""
    body = await _body(request, DraftBody)
    workspace = _workspace(request)
    path = await asyncio.to_thread(draft_from_article, workspace, body.article,
                                   minutes=body.minutes, title=body.title or None,
                                   url=body.url or None)
    name = path.resolve().relative_to((workspace.root / library.SCRIPTS).resolve()).as_posix()
    return web.json_response({"name": name, "url": f"/edit/{name}"})


def _checked_script(workspace: Workspace, name: str, text: str | None) -> library.Checked:
    """The script ``name`` as the editor holds it (``text``; None: as saved), checked."""
    path = library.script_path(workspace, name)
    if text is None:
        text = library.read_script(workspace, path)[0]
    checked = library.check_text(workspace, path, text)
    if checked.script is None:
        problem = checked.problems[0]
        raise InputError(problem.message, path, problem.line)
    return checked


def _turn_to_hear(workspace: Workspace, name: str, text: str | None, turn: int,
                  sentence: int | None, exchange: bool = False) -> Script:
    """The request's script (its unsaved text, else the file) reduced to the turn (or the
    one sentence of it) that ``turn`` and ``sentence`` name; with ``exchange``, to the
    turns heard around that one, mixed as the build mixes them."""
    checked = _checked_script(workspace, name, text)
    assert checked.script is not None
    if exchange:
        return exchange_of(checked.script, turn)
    return one_turn(checked.script, turn, sentence)


@handles_errors
async def hear_line(request: web.Request) -> web.StreamResponse:
    """A turn (or a sentence of it) streamed as the engine speaks it; with ``exchange``,
    the turns around it mixed as a build mixes them, whole."""
    body = await _body(request, HearBody)
    workspace = _workspace(request)
    script = await asyncio.to_thread(_turn_to_hear, workspace, body.name, body.text,
                                     body.turn, body.sentence, body.exchange)
    engine = await asyncio.to_thread(engine_named, _engine(request, body.engine))
    if body.exchange:
        heard = await hear_exchange(workspace, script, engine)
        return web.Response(body=heard.wav, content_type="audio/wav",
                            headers={"X-Duopod-Cached": "1" if heard.cached else "0",
                                     "Cache-Control": "no-store"})
    return await _streamed(request, await hearing(workspace, script, engine))


async def _streamed(request: web.Request, heard: Hearing) -> web.StreamResponse:
    """A turn being heard as a WAV stream: the header at once, then each piece of its PCM
    as the engine has it (``hearing``)."""
    response = web.StreamResponse(headers={
        "Content-Type": "audio/wav", "Cache-Control": "no-store",
        "X-Duopod-Cached": "1" if heard.cached else "0"})
    await response.prepare(request)
    await response.write(wav_header())
    try:
        async for pcm in heard.pcm:
            await response.write(pcm)
    except DuopodError as exc:  # a later sentence failed: the stream breaks off, said so
        log.warning("hearing stopped: %s", exc)
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()
    return response


def _stale_count(workspace: Workspace, name: str, text: str | None, engine_name: str
                 ) -> tuple[library.Checked, list[int]]:
    checked = _checked_script(workspace, name, text)
    assert checked.script is not None
    return checked, _stale_of(workspace, checked.script, engine_name)


def _stale_of(workspace: Workspace, script: Script, engine_name: str) -> list[int]:
    """The indexes of the turns a build with the engine would render."""
    engine = engine_named(engine_name)
    spell = script_speller(workspace, script, engine.name)
    return stale_turns(script, workspace, engine, spell.say if spell else None)


@handles_errors
async def stale(request: web.Request) -> web.Response:
    body = await _body(request, StaleBody)
    workspace = _workspace(request)
    name = _engine(request, body.engine)
    checked, turns = await asyncio.to_thread(_stale_count, workspace, body.name, body.text,
                                             name)
    assert checked.script is not None
    return web.json_response({"stale": turns, "turns": len(checked.script.turns),
                              "engine": name})


@handles_errors
async def build(request: web.Request) -> web.Response:
    """Build the saved script (the editor saves first): ``build_scripts``, as the CLI."""
    body = await _body(request, BuildBody)  # no text: what is built is what is on disk
    workspace = _workspace(request)
    name = _engine(request, body.engine)
    checked, turns = await asyncio.to_thread(_stale_count, workspace, body.name, None, name)
    assert checked.script is not None
    job = request.app[_BUILDS].start(workspace, checked.script.path,
                                     BuildOptions(engine=name), len(turns))
    return web.json_response({"id": job.id, "stale": turns,
                              "events": f"/api/builds/{job.id}/events"})


async def build_events(request: web.Request) -> web.StreamResponse:
    try:
        job = request.app[_BUILDS].jobs[int(request.match_info["id"])]
    except (KeyError, ValueError):
        raise web.HTTPNotFound() from None
    return await stream(request, job)


@handles_errors
async def lexicon(request: web.Request) -> web.StreamResponse:
    """Try an entry (``save`` false: hear the sentence with it) or keep it (lexicon.toml,
    or the script's front matter is the producer's to edit in the editor)."""
    body = await _body(request, LexiconBody)
    workspace = _workspace(request)
    written, spoken = body.written, body.spoken
    language = body.language or workspace.show.language
    if body.save == "script":
        assert body.name is not None  # LexiconBody says so
        path = library.script_path(workspace, body.name)
        text, sha = library.read_script(workspace, path)
        text = library.add_script_lexicon_entry(text, written, spoken)
        checked = await asyncio.to_thread(library.check_text, workspace, path, text)
        if checked.script is None:
            problem = checked.problems[0]
            raise InputError(problem.message, path, problem.line)
        opened = sha if body.sha256 is None else body.sha256
        sha = library.save_script(workspace, path, text, opened)
        return web.json_response({"saved": path.name, "sha256": sha, "text": text})
    if body.save:
        path = await asyncio.to_thread(library.add_lexicon_entry, workspace, written, spoken,
                                       language)
        return web.json_response({"saved": path.name})
    assert body.name is not None and body.turn is not None  # LexiconBody says so
    script = await asyncio.to_thread(_turn_to_hear, workspace, body.name, body.text,
                                     body.turn, body.sentence)
    said = script.turns[0].text.replace(written, spoken)
    script = replace(script, turns=(replace(script.turns[0], text=said),))
    engine = await asyncio.to_thread(engine_named, _engine(request, body.engine))
    return await _streamed(request, await hearing(workspace, script, engine))


# ---------------------------------------------------------------- publishing


@handles_errors
async def set_status(request: web.Request) -> web.Response:
    """draft, published, or scheduled at a moment: the front matter, as edited by hand
    (the next build places the episode)."""
    body = await _body(request, StatusBody)
    workspace = _workspace(request)
    path = library.script_path(workspace, body.name)
    text, sha = library.read_script(workspace, path)
    status = body.status
    if status == "draft":
        text = library.set_front_matter(text, "status", "draft")
        text = library.set_front_matter(text, "publish_at", None)
    elif status == "published":
        text = library.set_front_matter(text, "status", None)
        text = library.set_front_matter(text, "publish_at", None)
    else:
        text = library.set_front_matter(text, "status", None)
        text = library.set_front_matter(text, "publish_at", body.moment().isoformat())
    checked = library.check_text(workspace, path, text)
    if checked.script is None:
        problem = checked.problems[0]
        raise InputError(problem.message, path, problem.line)
    opened = sha if body.sha256 is None else body.sha256
    sha = library.save_script(workspace, path, text, opened)
    return web.json_response({"sha256": sha, "text": text})


@handles_errors
async def unpublish(request: web.Request) -> web.Response:
    from ..publish import unpublish_episode

    body = await _body(request, UnpublishBody)
    workspace = _workspace(request)
    record = await asyncio.to_thread(unpublish_episode, workspace, body.slug)
    return web.json_response({"unpublished": record.slug, "guid": record.guid})


async def feed_state(request: web.Request) -> web.Response:
    return web.json_response({"items": _feed_items(_workspace(request))})


def _feed_items(workspace: Workspace) -> list[dict[str, str]]:
    """What podcast apps see now: the items of episodes/feed.xml, newest first."""
    feed = workspace.episodes_dir / "feed.xml"
    try:
        root = ElementTree.parse(feed).getroot()  # noqa: S314 (our own feed)
    except (OSError, ElementTree.ParseError):
        return []
    return [{"title": item.findtext("title") or "", "date": item.findtext("pubDate") or "",
             "guid": item.findtext("guid") or ""} for item in root.iter("item")]


async def site(request: web.Request) -> web.StreamResponse:
    """The site as listeners will see it (and the pending episodes), by the preview
    server's own handler (``duopod serve``)."""
    tail = "/" + request.match_info["tail"]
    if request.rel_url.raw_query_string:
        tail += "?" + request.rel_url.raw_query_string
    handler = request.app[_PREVIEW]
    return await handler(request.clone(rel_url=tail))


# ---------------------------------------------------------------- running


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def start(root: Path, host: str = "127.0.0.1", port: int = 8765, *,
                token: str | None = None, engine: str = "espeak") -> Studio:
    loopback = is_loopback(host)
    if not loopback and token is None:
        raise InputError("a studio bound beyond loopback needs an access token")
    app = make_app(root, token=token, loopback=loopback, engine=engine)
    if engine == "kokoro":  # the model loads while the producer opens a script
        from ..speech.engines.kokoro_sessions import preload

        preload()
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site_ = web.TCPSite(runner, host, port, reuse_address=True)
    await site_.start()
    bound = runner.addresses[0]  # the port chosen when 0 was asked
    return Studio(host, int(bound[1]), token, runner)


def run(root: Path, host: str = "127.0.0.1", port: int = 8765, *, token: str | None = None,
        engine: str = "espeak", ready: Callable[[Studio], None] | None = None) -> None:
    """Serve until interrupted; ``ready`` is told the address once the socket listens."""

    async def main() -> None:
        studio = await start(root, host, port, token=token, engine=engine)
        if ready:
            ready(studio)
        try:
            await asyncio.Event().wait()
        finally:
            await studio.close()

    asyncio.run(main())


@contextlib.contextmanager
def in_background(root: Path, host: str = "127.0.0.1", port: int = 0, *,
                  token: str | None = None, engine: str = "espeak") -> Iterator[Studio]:
    """The studio on its own thread and event loop, for tests and benchmarks."""
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        studio = asyncio.run_coroutine_threadsafe(
            start(root, host, port, token=token, engine=engine), loop).result(30)
        try:
            yield studio
        finally:
            asyncio.run_coroutine_threadsafe(studio.close(), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
