"""``duopod say``: one line in one host's voice, through the lexicon, to a file.

A producer fixing a pronunciation wants to hear the fix now, not after a build: this runs
the same engine, profile settings and lexicon a build would, for one line, and writes a WAV
or MP3. Nothing is cached or published.

``say_sentences`` is the same line one sentence at a time, each sentence's PCM yielded as
soon as it is ready (the studio's "hear this line" plays the first while the next is
spoken); with an engine that speaks a sentence alone (kokoro's ``sentence_audio``) the
first audio is there after one sentence's inference, not the whole line's. ``say_line``
joins what it yields, so both give the samples a build would.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import tempfile
import wave
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.decode import SAMPLE_RATE, ffmpeg_exe, to_pcm16
from ..disk.atomic import write_atomically
from ..errors import DuopodError, InputError
from ..show.workspace import VoiceProfile, Workspace
from ..text import split_sentences
from .engines import Engine, EngineSettings
from .engines.settings import settings_of
from .lexicon import Entry, language_of, lexicon_entries, speller
from .model import Speech, joined_sentences

FORMATS = (".wav", ".mp3")


@dataclass
class Said:
    written: list[str]
    spoken: list[str]
    hits: Counter[Entry]
    speech: Speech
    path: Path


@dataclass(frozen=True)
class SaidSentence:
    """One sentence of a line, ready to play: mono float32 at SAMPLE_RATE."""

    index: int
    written: str
    spoken: str
    samples: np.ndarray


@dataclass(frozen=True)
class Line:
    """A line made ready to say: its sentences as written and as the lexicon says them."""

    host: str
    written: list[str]
    spoken: list[str]
    settings: EngineSettings
    hits: Counter[Entry]


def say_line(workspace: Workspace, text: str, host: str, engine: Engine, path: Path,
             voice: str | None = None) -> Said:
    """Render ``text`` as ``host`` would say it in a build (or in the engine's ``voice``,
    to try a voice no host has yet), and write it to ``path``."""
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--out must end in {' or '.join(FORMATS)}, not {path.name!r}")
    check_destination(path)
    line = prepare_line(workspace, text, host, engine,
                        trial_profile(workspace, engine.name, voice) if voice else None)
    if getattr(engine, "sentence_audio", None) is not None:
        pieces = [said.samples for said in sentences_of(line, engine)]
        speech = joined_sentences(line.spoken, pieces, engine.name)
    else:
        speech = asyncio.run(engine.render(line.spoken, line.settings))
    write_audio(np.asarray(speech.samples, dtype=np.float32), path,
                workspace.show.audio.bitrate_kbps)
    return Said(line.written, line.spoken, line.hits, speech, path)


def say_sentences(workspace: Workspace, text: str, host: str, engine: Engine
                  ) -> Iterator[SaidSentence]:
    """``text`` as ``host`` would say it in a build, one sentence at a time, each yielded
    as soon as the engine has it (a sentence with nothing to say yields no samples)."""
    yield from sentences_of(prepare_line(workspace, text, host, engine), engine)


def trial_profile(workspace: Workspace, engine: str, voice: str) -> VoiceProfile:
    """A profile made in code with only ``engine``'s voice: ``duopod say --voice`` tries a
    voice from ``duopod voices`` before any host has it (checked as a profile's is)."""
    return VoiceProfile(name=f"--voice {voice}", speaker=voice, path=workspace.root / "voices",
                        engines={engine: {"voice": voice}})


def prepare_line(workspace: Workspace, text: str, host: str, engine: Engine,
                 profile: VoiceProfile | None = None) -> Line:
    """The line's sentences, the host's settings (or ``profile``'s) and the lexicon's
    spellings; an engine that can (kokoro's ``preload``) starts loading its model
    meanwhile."""
    preload = getattr(engine, "preload", None)
    if preload is not None:
        preload()
    written = split_sentences(" ".join(text.split()))
    if not written:
        raise InputError("nothing to say: the text is empty")
    profile = profile or workspace.profile_for(host)
    settings = settings_of(engine.settings_for(profile))
    spell = speller(lexicon_entries(workspace), language_of(workspace), engine.name)
    spoken = [spell.say(sentence) for sentence in written]
    asyncio.run(engine.check_voices({host: (profile, settings)}))
    return Line(host, written, spoken, settings, spell.hits(written))


def sentences_of(line: Line, engine: Engine) -> Iterator[SaidSentence]:
    """The prepared line's sentences as the engine finishes each (an engine that renders
    a whole line at once yields them together, cut at its sentence timings)."""
    sentence_audio = getattr(engine, "sentence_audio", None)
    if sentence_audio is not None:  # one sentence at a time: the first is heard soonest
        for index, (written, spoken) in enumerate(zip(line.written, line.spoken, strict=True)):
            yield SaidSentence(index, written, spoken, sentence_audio(spoken, line.settings))
        return
    speech = asyncio.run(engine.render(line.spoken, line.settings))
    samples = np.asarray(speech.samples, dtype=np.float32)
    for index, span in enumerate(speech.sentences):
        piece = samples[round(span.start * SAMPLE_RATE):round(span.end * SAMPLE_RATE)]
        yield SaidSentence(index, line.written[index], line.spoken[index], piece)


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
        try:
            write_atomically(path, wav_bytes(samples))
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


def wav_bytes(samples: np.ndarray) -> bytes:
    """Mono float samples at SAMPLE_RATE as the bytes of a 16-bit WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(to_pcm16(samples))
    return buffer.getvalue()
