"""Hear one turn or one sentence of a script as a build would say it: the same engine,
profile settings and lexicon, through the same speech cache (``speech.render``), so a
turn heard here is not rendered again by the next build, and a cached one plays at once.
A turn that overlaps its neighbour (a backchannel, a cut-off) can also be heard with the
turns around it, mixed as the build mixes them (``hear_exchange``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from ..audio.decode import SAMPLE_RATE
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
    alone = getattr(engine, "alone", None)
    rendered = await render_turns_async(script, workspace, alone() if alone else engine,
                                        concurrency=1, spoken=spell.say if spell else None)
    show = workspace.show
    layout = plan_mix(script, rendered, replace(show.audio, channels=1), MusicSettings(),
                      show.language, paced_mix(show.mix, script.meta.pacing))
    mixed = layout.render(0, layout.length)[:, 0]
    peak = float(np.abs(mixed).max()) or 1.0
    return Heard(wav_bytes(mixed * (10 ** (-1 / 20) / peak)),
                 all(item.cached for item in rendered), layout.length / SAMPLE_RATE)
