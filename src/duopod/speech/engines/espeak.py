"""The offline engine: espeak-ng, in-process through ctypes.

The shared library and its voice data (Mandarin ``cmn`` included) come from the PyPI
package ``espeakng-loader``, loaded by ``espeak_library``. espeak-ng keeps global state,
so every call holds one lock; it synthesises hundreds of times faster than real time, so
this is never the bottleneck. Each sentence is synthesised on its own, which gives exact
sentence timings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib.metadata import version as package_version
from pathlib import Path

import espeakng_loader
import numpy as np

from ...audio.decode import as_float, resample, trim_bounds
from ...show.workspace import VoiceProfile
from ..model import Speech, joined_sentences
from . import EngineOptions, LocalEngine, Voice
from .espeak_library import library
from .espeak_settings import EspeakSettings, profile_settings
from .settings import EngineSettings


def make_engine(_options: EngineOptions) -> EspeakEngine:
    return EspeakEngine()


def voice_list(language: str | None = None) -> list[Voice]:
    """The espeak-ng language voices (a profile's ``voice``), optionally one language's
    (British English's tag is ``en``: a search for en-gb still finds it)."""
    wanted = (language or "").lower()
    return [Voice(tag, tag.split("-")[0], description=name) for tag, name in list_voices()
            if not wanted or tag.startswith(wanted) or wanted.startswith(tag + "-")]


def _voice_file_fields(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition(" ")
        if key in ("name", "language", "dictionary") and value.strip():
            found.setdefault(key, value.strip())
    return found


def list_voices() -> list[tuple[str, str]]:
    """(the tag to put in a profile's ``voice``, the voice's name) for every espeak-ng
    language voice the build accepts.

    The tag is what ``espeak_SetVoiceByName`` takes: the voice's language when it accepts
    that (``cmn``, ``en-us``), else the voice file's name (British English is ``en``: its
    language ``en-gb`` is refused). Voices whose pronunciation dictionary the package does
    not ship (``fo``, ``kaa``, ``xex``) are left out: they cannot speak."""
    data = Path(espeakng_loader.get_data_path())
    lib = library()
    voices = []
    for path in sorted((data / "lang").rglob("*")):
        if not path.is_file():
            continue
        found = _voice_file_fields(path)
        language = found.get("language", path.name).split()[0].lower()
        dictionary = found.get("dictionary", language.split("-")[0])
        if not (data / f"{dictionary}_dict").is_file():
            continue
        with lib.lock:
            tag = next((t for t in (language, path.name) if lib.set_voice(t)), None)
        if tag is not None:
            voices.append((tag, found.get("name", path.name)))
    return sorted(voices)


class EspeakEngine(LocalEngine):
    name = "espeak"

    @property
    def version(self) -> str:
        return f"espeakng-loader {package_version('espeakng-loader')}; {library().library_version}"

    def settings_for(self, profile: VoiceProfile) -> EspeakSettings:
        return profile_settings(profile)

    def voice_language(self, settings: EngineSettings) -> str:
        return settings.voice.split("+")[0]

    def render_sync(self, sentences: Sequence[str], settings: EngineSettings) -> Speech:
        return joined_sentences(sentences, list(self.each_sentence(sentences, settings)),
                                "espeak-ng")

    def each_sentence(self, sentences: Sequence[str], settings: EngineSettings
                      ) -> Iterator[np.ndarray]:
        """The turn's sentences' audio one at a time, each as soon as it is synthesised:
        the samples ``render_sync`` joins (the library carries state from one sentence to
        the next, so the turn is reset once and holds the lock until its last sentence or
        until the caller closes the iterator)."""
        lib = library()
        espeak = EspeakSettings.of(settings)
        parameters = espeak.parameters()
        with lib.lock:
            lib.reset()  # the same text renders the same, whatever was rendered before
            for sentence in sentences:
                raw = lib.synth(sentence, espeak.voice, parameters)
                yield _trim(resample(_samples(raw), lib.sample_rate))


def _samples(raw: bytes) -> np.ndarray:
    """The library's 16-bit samples as float32 in [-1, 1]."""
    return as_float(np.frombuffer(raw, dtype=np.int16))


def _trim(audio: np.ndarray) -> np.ndarray:
    start, stop = trim_bounds(audio, pad_seconds=0.02)
    return audio[start:stop]
