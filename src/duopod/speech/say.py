"""``duopod say``: one line in one host's voice, through the lexicon, to a file.

A producer fixing a pronunciation wants to hear the fix now, not after a build: this runs
the same engine, profile settings and lexicon a build would, for one line, and writes a WAV
or MP3. Nothing is cached or published.
"""

from __future__ import annotations

import asyncio
import wave
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, to_pcm16
from ..errors import InputError
from ..text import split_sentences
from ..workspace import Workspace
from .engines import Engine
from .lexicon import Entry, load_show_lexicon, speller
from .model import Speech

FORMATS = (".wav", ".mp3")


@dataclass
class Said:
    written: list[str]
    spoken: list[str]
    hits: Counter[Entry]
    speech: Speech
    path: Path


def say_line(workspace: Workspace, text: str, host: str, engine: Engine, path: Path) -> Said:
    """Render ``text`` as ``host`` would say it in a build, and write it to ``path``."""
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--out must end in {' or '.join(FORMATS)}, not {path.name!r}")
    written = split_sentences(" ".join(text.split()))
    if not written:
        raise InputError("nothing to say: the text is empty")
    profile = workspace.profile_for(host)
    settings = engine.settings_for(profile)
    spell = speller(load_show_lexicon(workspace.root), workspace.show.language, engine.name)
    spoken = [spell.say(sentence) for sentence in written]

    async def speak() -> Speech:
        await engine.check_voices({host: (profile, settings)})
        return await engine.render(spoken, settings)

    speech = asyncio.run(speak())
    write_audio(np.asarray(speech.samples, dtype=np.float32), path,
                workspace.show.audio.bitrate_kbps)
    return Said(written, spoken, spell.hits(written), speech, path)


def write_audio(samples: np.ndarray, path: Path, bitrate_kbps: int) -> None:
    """Mono float samples at SAMPLE_RATE to a 16-bit WAV or an MP3."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".wav":
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(to_pcm16(samples))
        return
    from ..mix.encode import encode_mp3

    encode_mp3([samples.reshape(-1, 1)], 1, path, bitrate_kbps)
