"""``duopod say``: one line in one host's voice, through the lexicon, to a file.

A producer fixing a pronunciation wants to hear the fix now, not after a build: this runs
the same engine, profile settings and lexicon a build would, for one line, and writes a WAV
or MP3. Nothing is cached or published.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import tempfile
import wave
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.decode import SAMPLE_RATE, ffmpeg_exe, to_pcm16
from ..errors import DuopodError, InputError
from ..files import write_atomically
from ..show.workspace import Workspace
from ..text import split_sentences
from .engines import Engine
from .lexicon import Entry, language_of, lexicon_entries, speller
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
    check_destination(path)
    written = split_sentences(" ".join(text.split()))
    if not written:
        raise InputError("nothing to say: the text is empty")
    profile = workspace.profile_for(host)
    settings = engine.settings_for(profile)
    spell = speller(lexicon_entries(workspace), language_of(workspace), engine.name)
    spoken = [spell.say(sentence) for sentence in written]

    async def speak() -> Speech:
        await engine.check_voices({host: (profile, settings)})
        return await engine.render(spoken, settings)

    speech = asyncio.run(speak())
    write_audio(np.asarray(speech.samples, dtype=np.float32), path,
                workspace.show.audio.bitrate_kbps)
    return Said(written, spoken, spell.hits(written), speech, path)


def check_destination(path: Path) -> None:
    """Before any speech is made: ``path`` must be a file we can create (not a folder, not
    under /proc or a read-only place), else one clear line, never a traceback."""
    if path.is_dir():
        raise InputError(f"--out {path} is a folder: name a .wav or .mp3 file in it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp"):
            pass
    except OSError as exc:
        raise InputError(f"--out {path}: cannot write there ({exc.strerror or exc})") from None


def write_audio(samples: np.ndarray, path: Path, bitrate_kbps: int) -> None:
    """Mono float samples at SAMPLE_RATE to a 16-bit WAV, or an MP3 through the bundled
    ffmpeg (a plain encode: a line to listen to needs no mastering)."""
    if path.suffix.lower() == ".wav":
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(to_pcm16(samples))
        try:
            write_atomically(path, buffer.getvalue())
        except OSError as exc:
            raise InputError(f"--out {path}: cannot write there ({exc.strerror or exc})") \
                from None
        return
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "s16le",
               "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0", "-c:a", "libmp3lame",
               "-b:a", f"{bitrate_kbps}k", str(path)]
    done = subprocess.run(command, input=to_pcm16(samples), capture_output=True, check=False)
    if done.returncode != 0:
        raise DuopodError(f"ffmpeg could not write {path.name}: "
                          f"{done.stderr.decode(errors='replace').strip()[:300]}")
