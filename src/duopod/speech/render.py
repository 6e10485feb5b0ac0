"""Stage 2, speech: every turn of a ``Script`` rendered in its host's voice.

Turns render concurrently (bounded), each through the content-addressed cache, and come
back in script order. A turn that fails stops the build with its script line; every turn
already finished is in the cache, so the next run resumes there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

from ..errors import DuopodError, EngineError, InputError
from ..script.model import Script, Turn
from ..show.workspace import VoiceProfile, Workspace
from ..text import split_sentences
from .analysis import analyse
from .cache import SpeechCache, cache_key
from .engines import Engine, EngineSettings, check_voice_languages
from .engines.settings import settings_of
from .model import RenderedTurn, SentenceSpan, Speech
from .slots import Slots, sharing

Status = Literal["rendering", "done", "cached", "retrying", "failed"]


@dataclass(frozen=True)
class TurnEvent:
    turn: Turn
    status: Status
    detail: str = ""


ProgressCallback = Callable[[TurnEvent], None]


def turn_settings(script: Script, workspace: Workspace, engine: Engine
                  ) -> dict[str, EngineSettings]:
    """Validated engine settings per host; errors name the profile before anything renders."""
    profiles = episode_profiles(script, workspace)
    return {host: settings_of(engine.settings_for(profile)) for host, profile in profiles.items()}


def episode_profiles(script: Script, workspace: Workspace) -> dict[str, VoiceProfile]:
    """Each host's profile for the episode's language (its ``[engine."xx-YY"]`` tables laid
    over the defaults)."""
    language = script.meta.lifecycle.language or workspace.show.language
    profiles = workspace.profiles_for(script.speakers, script.path, script.first_lines())
    return {host: profile.for_language(language) for host, profile in profiles.items()}


async def render_turns_async(
    script: Script,
    workspace: Workspace,
    engine: Engine,
    *,
    use_cache: bool = True,
    cache_only: bool = False,
    concurrency: int = 4,
    progress: ProgressCallback | None = None,
    spoken: Callable[[str], str] | None = None,
) -> list[RenderedTurn]:
    """Every turn's speech, in script order. ``cache_only`` never calls the engine: a turn
    missing from the cache is an error (for re-mixing without rendering). ``spoken`` turns
    a written sentence into what the engine is asked to say (the pronunciation lexicon);
    the timings keep the written sentences."""
    if concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    settings = turn_settings(script, workspace, engine)
    profiles = episode_profiles(script, workspace)
    check_voice_languages(
        engine, profiles, settings, script.meta.lifecycle.language or workspace.show.language)
    await engine.check_voices({host: (profiles[host], settings[host]) for host in settings})
    cache = SpeechCache(workspace.cache_dir / "speech")
    slots = Slots(concurrency)
    per_request = getattr(engine, "takes_slots", False)
    notify = progress or (lambda _event: None)

    async def render_one(turn: Turn) -> RenderedTurn:
        voice = settings[turn.speaker]
        written = split_sentences(turn.text)
        said = [spoken(s) for s in written] if spoken else written
        key = turn_key(engine, voice, turn, spoken)
        if use_cache:
            hit = cache.get(key)
            if hit is not None:
                notify(TurnEvent(turn, "cached"))
                return RenderedTurn(turn, hit, cached=True)
        if cache_only:
            raise InputError(
                f"turn {turn.index + 1} ({turn.speaker}) has no cached {engine.name} speech; "
                "run 'duopod build' first", script.path, turn.line,
            )
        # an engine that takes a slot per request (see .slots) is not held to one per turn
        async with nullcontext() if per_request else slots.hold(_weight(said)):
            notify(TurnEvent(turn, "rendering"))
            try:
                speech = await engine.render(
                    said, voice, lambda detail: notify(TurnEvent(turn, "retrying", detail)),
                )
                speech.sentences = written_spans(written, speech.sentences, engine.name)
            except EngineError as exc:
                notify(TurnEvent(turn, "failed", str(exc)))
                raise DuopodError(
                    f"{script.path}:{turn.line}: turn {turn.index + 1} ({turn.speaker}) "
                    f"failed to render: {exc}"
                ) from exc
        # in a thread: the event loop meanwhile hands slots on and reads other connections
        speech = await asyncio.to_thread(analysed_and_cached, cache, key, speech)
        notify(TurnEvent(turn, "done"))
        return RenderedTurn(turn, speech)

    # longest first: the first requests take free slots before any queue forms
    turns = script.turns
    by_size = sorted(range(len(turns)), key=lambda i: -_weight([turns[i].text]))
    with sharing(slots):  # the tasks inherit the slots with the context they start in
        started = {i: asyncio.create_task(render_one(turns[i])) for i in by_size}
    tasks = [started[i] for i in range(len(turns))]
    try:
        return list(await asyncio.gather(*tasks))
    except Exception:
        # a turn failed: start nothing new, but let the requests under way finish, so
        # their turns are cached for the next run
        slots.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def turn_key(engine: Engine, voice: EngineSettings, turn: Turn,
             spoken: Callable[[str], str] | None = None) -> str:
    """The cache key of a turn's speech. It names what is said: a lexicon change
    re-renders exactly the turns it touches."""
    written = split_sentences(turn.text)
    said = [spoken(s) for s in written] if spoken else written
    return cache_key(engine.name, engine.version, voice,
                     turn.text if said == written else "\n".join(said))


def stale_turns(script: Script, workspace: Workspace, engine: Engine,
                spoken: Callable[[str], str] | None = None) -> list[int]:
    """Indexes of the turns a build would render with ``engine`` (their spoken text is not
    in the cache), without calling the engine: what "rebuild only what changed" costs."""
    settings = turn_settings(script, workspace, engine)
    cache = SpeechCache(workspace.cache_dir / "speech")
    return [turn.index for turn in script.turns
            if not cache.has(turn_key(engine, settings[turn.speaker], turn, spoken))]


def analysed_and_cached(cache: SpeechCache, key: str, speech: Speech) -> Speech:
    """A rendered turn analysed (its loudness steps, for the mix) and kept under ``key``."""
    speech.analysis = analyse(speech.samples)
    return cache.put(key, speech)


def _weight(sentences: list[str]) -> int:
    """A turn's size for scheduling: UTF-8 bytes of text, roughly its speaking time."""
    return sum(len(sentence.encode()) for sentence in sentences)


def written_spans(written: list[str], spans: list[SentenceSpan], engine: str
                  ) -> list[SentenceSpan]:
    """The engine's spans labelled with the script's own sentences."""
    if len(spans) != len(written):
        raise EngineError(f"the {engine} engine timed {len(spans)} sentences, not "
                          f"{len(written)}")
    return [SentenceSpan(text, span.start, span.end)
            for text, span in zip(written, spans, strict=True)]
