"""Hear one turn or one sentence of a script as a build would say it: the same engine,
profile settings and lexicon, through the same speech cache, so a turn heard here is not
rendered again by the next build, and a cached one plays at once.

The audio is streamed: a WAV whose sizes say "until the end" (as a live stream's do),
then its 16-bit PCM as the engine speaks each sentence (``speech.aloud``), so the first
sentence plays while the next is spoken; the page plays the pieces as they come (Web
Audio) and keeps the whole for its player. An engine that says a turn only whole (the
network engines) sends it whole, through ``render_turns_async``.

A turn that overlaps its neighbour (a backchannel, a cut-off) can also be heard with the
turns around it, mixed as the build mixes them (``hear_exchange``): a whole WAV, since
the mix needs every turn of it.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import numpy as np

from ..audio.decode import SAMPLE_RATE, as_float, to_pcm16
from ..build.options import BuildOptions
from ..build.steps import make_engine
from ..errors import InputError
from ..script.model import Script, Turn
from ..show.workspace import Workspace
from ..speech.aloud import said_aloud, streams, turn_aloud
from ..speech.engines import Engine, engine_spec
from ..speech.lexicon import script_speller
from ..speech.render import render_turns_async
from ..speech.say import wav_bytes
from ..text import split_sentences

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
UNTIL_THE_END = 0xFFFFFFFF
"""A streamed WAV's RIFF and data sizes: not known when the header is sent."""


def engine_named(name: str) -> Engine:
    """One engine object per name for the studio's life (a neural model loads once)."""
    spec = engine_spec(name)
    with _engines_lock:
        if spec.name not in _engines:
            _engines[spec.name] = make_engine(spec.name, BuildOptions())
        return _engines[spec.name]


def one_turn(script: Script, index: int, sentence: int | None = None) -> Script:
    """``script`` reduced to its turn ``index`` (or one sentence of it, as a turn of its
    own), for ``render_turns_async``."""
    if not 0 <= index < len(script.turns):
        raise InputError(f"the script has no turn {index + 1}")
    turn: Turn = script.turns[index]
    if sentence is not None:
        sentences = split_sentences(turn.text)
        if not 0 <= sentence < len(sentences):
            raise InputError(f"turn {index + 1} has no sentence {sentence + 1}")
        turn = replace(turn, text=sentences[sentence], directions=())
    return replace(script, turns=(turn,))


def wav_header(rate: int = SAMPLE_RATE) -> bytes:
    """The 44 bytes before a mono 16-bit PCM stream of unknown length."""
    return (b"RIFF" + struct.pack("<I", UNTIL_THE_END) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", UNTIL_THE_END))


@dataclass
class Hearing:
    """A turn being heard: whether the cache had it, and its PCM as it comes."""

    cached: bool
    pcm: AsyncIterator[bytes]


async def hearing(workspace: Workspace, script: Script, engine: Engine) -> Hearing:
    """Start saying the script's (one) turn; returns once its first audio is there (or
    raises what stopped the engine before it, for a one-line answer)."""
    spell = script_speller(workspace, script, engine.name)
    spoken = spell.say if spell else None
    if not streams(engine):
        return await _whole(workspace, script, engine, spoken)
    aloud = await asyncio.to_thread(turn_aloud, script, workspace, engine, spoken)
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()

    def put(item: bytes | BaseException | None) -> None:
        loop.call_soon_threadsafe(pieces.put_nowait, item)

    def speak() -> None:
        # runs to the end even when the listener has gone: the turn lands in the cache
        try:
            for samples in said_aloud(aloud, workspace, engine):
                put(to_pcm16(samples))
            put(None)
        except BaseException as exc:  # handed to the request, which answers it
            put(exc)

    threading.Thread(target=speak, name="studio-hearing", daemon=True).start()
    first = await pieces.get()
    if isinstance(first, BaseException):
        raise first

    async def rest() -> AsyncIterator[bytes]:
        item: bytes | BaseException | None = first
        while item is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
            item = await pieces.get()

    return Hearing(aloud.cached is not None, rest())


async def _whole(workspace: Workspace, script: Script, engine: Engine,
                 spoken: Callable[[str], str] | None) -> Hearing:
    """A turn from an engine that says it only whole (one piece)."""
    rendered = await render_turns_async(script, workspace, engine, concurrency=1,
                                        spoken=spoken)
    samples = as_float(rendered[0].speech.samples[0:len(rendered[0].speech.samples)])

    async def once() -> AsyncIterator[bytes]:
        yield to_pcm16(samples)

    return Hearing(rendered[0].cached, once())


@dataclass(frozen=True)
class Heard:
    """Turns heard whole: a WAV file, whether the cache had every turn, its seconds."""

    wav: bytes
    cached: bool
    duration: float


def exchange_of(script: Script, index: int) -> Script:
    """``script`` reduced to turn ``index`` and the turns either side of it: enough for
    the mix to meet them as the whole script does (a backchannel lies between two turns,
    a cut-off meets the next)."""
    if not 0 <= index < len(script.turns):
        raise InputError(f"the script has no turn {index + 1}")
    return replace(script, turns=script.turns[max(0, index - 1) : index + 2])


async def hear_exchange(workspace: Workspace, script: Script, engine: Engine) -> Heard:
    """The script's (few) turns rendered through the cache and mixed as a build mixes them
    (gaps, overlaps, ducking, levels; no music, no mastering), peak-normalised to -1 dBFS,
    as a WAV file."""
    from ..mix import paced_mix
    from ..mix.plan import plan_mix
    from ..show.workspace import MusicSettings

    spell = script_speller(workspace, script, engine.name)
    rendered = await render_turns_async(script, workspace, engine, concurrency=1,
                                        spoken=spell.say if spell else None)
    show = workspace.show
    layout = plan_mix(script, rendered, replace(show.audio, channels=1), MusicSettings(),
                      show.language, paced_mix(show.mix, script.meta.pacing))
    mixed = layout.render(0, layout.length)[:, 0]
    peak = float(np.abs(mixed).max()) or 1.0
    return Heard(wav_bytes(mixed * (10 ** (-1 / 20) / peak)),
                 all(item.cached for item in rendered), layout.length / SAMPLE_RATE)
