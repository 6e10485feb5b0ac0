"""The espeak-ng shared library, loaded in-process through ctypes, without numpy.

Three callers share the one process-wide library: the espeak engine (which synthesises),
the check of an espeak voice profile (which only asks whether a voice exists) and Kokoro's
English phonemiser. Checking a profile is part of ``duopod check``, which must start fast,
so this module hands back raw 16-bit samples as bytes and imports nothing heavy: the
espeak engine makes arrays of them.

The shared library and its voice data come from the PyPI package ``espeakng-loader``.
espeak-ng keeps global state, so every call holds ``lock``.
"""

from __future__ import annotations

import _ctypes
import ctypes
import threading
from typing import Any

import espeakng_loader

from ...errors import EngineError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_SAMPLE_BYTES = ctypes.sizeof(ctypes.c_short)

PARAMETERS = {"rate": (1, 80, 450), "volume": (2, 0, 200), "pitch": (3, 0, 99),
              "range": (4, 0, 99), "word_gap": (7, 0, 100)}
"""The settings espeak-ng takes by ``espeak_SetParameter``: (its parameter id, the lowest
and the highest value a profile may give)."""

_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class Espeak:
    """The process-wide espeak-ng library, initialised once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._chunks: list[bytes] = []
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
            self._chunks.append(ctypes.string_at(wav, count * _SAMPLE_BYTES))
        return 0

    def set_voice(self, voice: str) -> bool:
        return bool(self.lib.espeak_SetVoiceByName(voice.encode()) == 0)

    def synth(self, text: str, voice: str, parameters: dict[str, int]) -> bytes:
        """16-bit samples in the machine's byte order, at ``sample_rate``. Caller holds
        ``lock``."""
        if not self.set_voice(voice):
            raise EngineError(f"espeak-ng has no voice {voice!r}")
        for key, value in parameters.items():
            self.lib.espeak_SetParameter(PARAMETERS[key][0], int(value), 0)
        self._chunks = []
        data = text.encode("utf-8")
        status = self.lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if status != 0:
            raise EngineError(f"espeak-ng could not synthesise (status {status})")
        return b"".join(self._chunks)


_library: Espeak | None = None
_library_lock = threading.Lock()


def library() -> Espeak:
    global _library
    with _library_lock:
        if _library is None:
            _library = Espeak()
        return _library
