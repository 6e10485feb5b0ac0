"""One turn said aloud as it is spoken: its audio sentence by sentence, the first heard
while the engine speaks the next (the studio's ▶), kept in the speech cache at the end as
the very turn a build would render.

Why not ``say.say_sentences``: that is a line in a host's voice with the show's lexicon,
outside any script. A turn of a script has its episode's language, its front matter's
lexicon and its own cache key; here the samples and the key are ``render_turns_async``'s,
so a turn heard here is not rendered again by the next build, and a cached turn is heard
at once. An engine that speaks a turn one sentence at a time in the order a build joins
them (``each_sentence``: espeak, kokoro) streams; any other says the turn whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass

import numpy as np

from ..audio.decode import SAMPLE_RATE, as_float
from ..script.model import Script, Turn
from ..show.workspace import Workspace
from ..text import split_sentences
from .cache import SpeechCache
from .engines import Engine, check_voice_languages
from .engines.settings import EngineSettings
from .model import SENTENCE_PAUSE, Speech, joined_sentences
from .render import analysed_and_cached, episode_profiles, turn_key, turn_settings, written_spans

__all__ = ["Aloud", "streams", "turn_aloud"]


@dataclass(frozen=True)
class Aloud:
    """A turn made ready to say: what is said, in which voice, under which cache key."""

    turn: Turn
    settings: EngineSettings
    written: list[str]
    said: list[str]
    key: str
    cached: Speech | None
    """The turn's speech when the cache has it (then nothing is rendered)."""


def streams(engine: Engine) -> bool:
    """Does ``engine`` speak a turn sentence by sentence, as a build joins them?"""
    return callable(getattr(engine, "each_sentence", None))


def turn_aloud(script: Script, workspace: Workspace, engine: Engine,
               spoken: Callable[[str], str] | None = None) -> Aloud:
    """The script's first turn made ready: its host's settings for the episode's language
    (checked as a build checks them, before anything is said) and its cache entry."""
    turn = script.turns[0]
    settings = turn_settings(script, workspace, engine)
    check_voice_languages(engine, episode_profiles(script, workspace), settings,
                          script.meta.lifecycle.language or workspace.show.language)
    written = split_sentences(turn.text)
    said = [spoken(s) for s in written] if spoken else written
    voice = settings[turn.speaker]
    key = turn_key(engine, voice, turn, spoken)
    return Aloud(turn, voice, written, said, key,
                 SpeechCache(workspace.cache_dir / "speech").get(key))


def said_aloud(aloud: Aloud, workspace: Workspace, engine: Engine) -> Iterator[np.ndarray]:
    """The turn's samples (float32, mono at SAMPLE_RATE) in pieces that join into what a
    build renders: a cached turn whole, else each sentence as the engine has it (with the
    pause before it); at the end the turn is analysed and kept in the cache."""
    if aloud.cached is not None:
        yield as_float(aloud.cached.samples[0:len(aloud.cached.samples)])  # 16-bit on disk
        return
    each_sentence = getattr(engine, "each_sentence", None)
    if each_sentence is None:
        raise TypeError(f"the {engine.name} engine says a turn whole: use render_turns_async")
    pause = np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), dtype=np.float32)
    pieces: list[np.ndarray] = []
    with closing(each_sentence(aloud.said, aloud.settings)) as sentences:
        for piece in sentences:
            audible = np.asarray(piece, dtype=np.float32)
            if audible.size and any(p.size for p in pieces):
                yield pause  # as joined_sentences puts it between two audible sentences
            pieces.append(audible)
            if audible.size:
                yield audible
    speech = joined_sentences(aloud.said, pieces, engine.name)
    speech.sentences = written_spans(aloud.written, speech.sentences, engine.name)
    analysed_and_cached(SpeechCache(workspace.cache_dir / "speech"), aloud.key, speech)
