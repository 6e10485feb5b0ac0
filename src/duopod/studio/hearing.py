"""Hear one turn or one sentence of a script as a build would say it: the same engine,
profile settings and lexicon, through the same speech cache (``speech.render``), so a
turn heard here is not rendered again by the next build, and a cached one plays at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from ..build.options import BuildOptions
from ..build.steps import make_engine
from ..errors import InputError
from ..script.model import Script, Turn
from ..show.workspace import Workspace
from ..speech.engines import Engine, engine_spec
from ..speech.lexicon import script_speller
from ..speech.render import render_turns_async
from ..speech.say import wav_bytes

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_named(name: str) -> Engine:
    """One engine object per name for the studio's life (a neural model loads once)."""
    spec = engine_spec(name)
    with _engines_lock:
        if spec.name not in _engines:
            _engines[spec.name] = make_engine(spec.name, BuildOptions())
        return _engines[spec.name]


@dataclass(frozen=True)
class Heard:
    wav: bytes
    cached: bool
    duration: float


def one_turn(script: Script, index: int, sentence: int | None = None) -> Script:
    """``script`` reduced to its turn ``index`` (or one sentence of it, as a turn of its
    own), for ``render_turns_async``."""
    if not 0 <= index < len(script.turns):
        raise InputError(f"the script has no turn {index + 1}")
    turn: Turn = script.turns[index]
    if sentence is not None:
        from ..text import split_sentences

        sentences = split_sentences(turn.text)
        if not 0 <= sentence < len(sentences):
            raise InputError(f"turn {index + 1} has no sentence {sentence + 1}")
        turn = replace(turn, text=sentences[sentence], directions=())
    return replace(script, turns=(turn,))


async def hear(workspace: Workspace, script: Script, engine: Engine) -> Heard:
    """Render the script's (one) turn through the cache; its audio as a WAV file. An
    engine that has a way for one turn alone (kokoro's ``alone``: every core on each
    sentence) uses it: the same samples and cache entries, sooner."""
    spell = script_speller(workspace, script, engine.name)
    alone = getattr(engine, "alone", None)
    rendered = await render_turns_async(script, workspace, alone() if alone else engine,
                                        concurrency=1, spoken=spell.say if spell else None)
    speech = rendered[0].speech
    return Heard(wav_bytes(np.asarray(speech.samples, dtype=np.float32)), rendered[0].cached,
                 speech.duration)

