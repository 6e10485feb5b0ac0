"""The offline engine: espeak-ng, in-process through ctypes.

The shared library and its voice data (Mandarin ``cmn`` included) come from the PyPI
package ``espeakng-loader``. espeak-ng keeps global state, so every call holds one lock;
it synthesises hundreds of times faster than real time, so this is never the bottleneck.
Each sentence is synthesised on its own, which gives exact sentence timings.
"""

from __future__ import annotations

import _ctypes
import ctypes
import threading
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import espeakng_loader
import numpy as np

from ...audio import as_float, resample, trim_bounds
from ...errors import EngineError, InputError
from ...workspace import VoiceProfile
from ..model import Speech, joined_sentences
from . import EngineOptions, LocalEngine, Voice, missing_setting, unknown_setting

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_PARAMETERS = {"rate": (1, 80, 450), "volume": (2, 0, 200), "pitch": (3, 0, 99),
               "range": (4, 0, 99), "word_gap": (7, 0, 100)}

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Espeak:
    """The process-wide espeak-ng library, initialised once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._chunks: list[np.ndarray] = []
        self._callback = _Callback(self._collect)  # kept alive: the library holds a pointer
        self.lib = self._load()
        self.library_version = (self.lib.espeak_Info(None) or b"?").decode()

    def _load(self) -> ctypes.CDLL:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if self.sample_rate <= 0:
            raise EngineError("espeak-ng failed to initialise its voice data")
        lib.espeak_SetSynthCallback(self._callback)
        return lib

    def reset(self) -> None:
        """Unload and load the library again, so the next synthesis starts from its initial
        state. Caller holds ``lock``.

        espeak-ng keeps state that neither ``espeak_Initialize`` nor a voice change resets
        (the pitch flutter's phase is a function-level static in wavegen.c that runs on
        across utterances), so the same text came out a few samples longer or shorter on
        every call and ``--no-cache`` re-renders differed. A fresh copy of the library's
        statics costs about 30 ms per turn."""
        self.lib.espeak_Terminate()
        _ctypes.dlclose(self.lib._handle)
        self.lib = self._load()

    def _collect(self, wav: Any, count: int, _events: Any) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def set_voice(self, voice: str) -> bool:
        return self.lib.espeak_SetVoiceByName(voice.encode()) == 0

    def synth(self, text: str, voice: str, parameters: dict[str, int]) -> np.ndarray:
        """int16 samples at the library's rate. Caller holds ``lock``."""
        if not self.set_voice(voice):
            raise EngineError(f"espeak-ng has no voice {voice!r}")
        for key, value in parameters.items():
            self.lib.espeak_SetParameter(_PARAMETERS[key][0], int(value), 0)
        self._chunks = []
        data = text.encode("utf-8")
        status = self.lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if status != 0:
            raise EngineError(f"espeak-ng could not synthesise (status {status})")
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks)


_library: _Espeak | None = None
_library_lock = threading.Lock()


def library() -> _Espeak:
    global _library
    with _library_lock:
        if _library is None:
            _library = _Espeak()
        return _library


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

    def settings_for(self, profile: VoiceProfile) -> dict[str, Any]:
        raw = profile.settings("espeak")
        if "voice" not in raw:
            raise missing_setting(profile, "espeak", "voice")
        settings: dict[str, Any] = {"voice": str(raw["voice"])}
        if raw.get("variant"):
            settings["voice"] += f"+{raw['variant']}"
        for key, value in raw.items():
            if key in ("voice", "variant"):
                continue
            if key not in _PARAMETERS:
                raise unknown_setting(profile, "espeak", key, ["voice", "variant", *_PARAMETERS])
            _, low, high = _PARAMETERS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(
                    f"espeak {key} in profile {profile.name!r} must be a whole number "
                    f"from {low} to {high}", profile.path,
                )
            settings[key] = value
        lib = library()
        with lib.lock:
            known = lib.set_voice(settings["voice"])
        if not known:
            raise InputError(
                f"espeak-ng has no voice {settings['voice']!r} (profile {profile.name!r}, "
                f"host {profile.speaker!r}); see 'duopod voices --engine espeak'", profile.path,
            )
        return settings

    def voice_language(self, settings: dict[str, Any]) -> str:
        return str(settings["voice"]).split("+")[0]

    def render_sync(self, sentences: Sequence[str], settings: dict[str, Any]) -> Speech:
        lib = library()
        parameters = {k: v for k, v in settings.items() if k in _PARAMETERS}
        with lib.lock:
            lib.reset()  # the same text renders the same, whatever was rendered before
            raws = [lib.synth(sentence, settings["voice"], parameters)
                    for sentence in sentences]
        return joined_sentences(
            sentences, [_trim(resample(as_float(raw), lib.sample_rate)) for raw in raws],
            "espeak-ng")


def _trim(audio: np.ndarray) -> np.ndarray:
    start, stop = trim_bounds(audio, pad_seconds=0.02)
    return audio[start:stop]
