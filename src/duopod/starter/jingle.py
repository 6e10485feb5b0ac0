"""Synthesise a starter intro and outro jingle (no samples, no downloads): a bright
plucked motif over a soft pad, I-V-vi-IV in C major, in additive synthesis. ``duopod
init`` writes them into a new show; a producer replaces them with the show's own music.

    python -m duopod.starter.jingle music/      # writes music/intro.wav and music/outro.wav
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

RATE = 44_100


def note_hz(semitones_from_a4: float) -> float:
    return 440.0 * 2 ** (semitones_from_a4 / 12)


# C major degrees relative to A4 (C5 = +3)
C4, D4, E4, F4, G4, A4, B4, C5, D5, E5, G5 = -9, -7, -5, -4, -2, 0, 2, 3, 5, 7, 10
A3, F3, G3, C3 = -12, -16, -14, -21


def pluck(freq: float, duration: float, level: float) -> np.ndarray:
    """A plucked-string tone: a few harmonics with a fast attack and exponential decay."""
    t = np.arange(int(duration * RATE)) / RATE
    tone = sum(np.sin(2 * np.pi * freq * k * t) / k**1.6 for k in range(1, 6))
    envelope = np.minimum(t / 0.005, 1) * np.exp(-t * 4.5)
    sound: np.ndarray = (level * tone * envelope).astype(np.float32)
    return sound


def pad(freqs: list[float], duration: float, level: float) -> np.ndarray:
    """A soft chord: detuned sines with a slow swell."""
    t = np.arange(int(duration * RATE)) / RATE
    chord = sum(np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * f * 1.003 * t) for f in freqs)
    swell = np.minimum(t / 0.25, 1) * np.minimum((duration - t) / 0.3, 1).clip(0, 1)
    sound: np.ndarray = (level * chord * swell / len(freqs)).astype(np.float32)
    return sound


def place(track: np.ndarray, sound: np.ndarray, at: float) -> None:
    start = int(at * RATE)
    end = min(len(track), start + len(sound))
    track[start:end] += sound[: end - start]


def jingle(chords: list[tuple[int, list[int]]], melody: list[tuple[float, int]],
           beat: float, tail: float) -> np.ndarray:
    length = len(chords) * 2 * beat + tail
    track = np.zeros(int(length * RATE), dtype=np.float32)
    for bar, (bass, chord) in enumerate(chords):
        at = bar * 2 * beat
        place(track, pad([note_hz(n) for n in chord], 2 * beat + 0.3, 0.22), at)
        place(track, pluck(note_hz(bass), 2 * beat, 0.35), at)
    for at, note in melody:
        place(track, pluck(note_hz(note), 1.2, 0.28), at * beat)
    fade = int(0.4 * RATE)
    track[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    normalised: np.ndarray = track / np.abs(track).max() * 0.7
    return normalised


def wav_bytes(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def write_jingles(folder: Path, create: Callable[[Path, bytes], object] | None = None
                  ) -> tuple[Path, Path]:
    """intro.wav and outro.wav into ``folder``, each written by ``create`` (the producer's
    door, which never replaces a file; default: a plain write)."""
    write = create or (lambda path, data: path.write_bytes(data))
    beat = 0.42
    progression = [(C3, [C4, E4, G4]), (G3, [D4, G4, B4]), (A3, [C4, E4, A4]), (F3, [C4, F4, A4])]
    intro_melody = [(0, E5), (0.5, G5), (1, C5), (2, D5), (2.5, G4), (3, B4), (4, C5), (4.5, E5),
                    (5, A4), (6, C5), (6.5, A4), (7, G4)]
    outro_melody = [(0, G5), (0.5, E5), (1, C5), (2, D5), (2.5, B4), (3, G4), (4, A4), (4.5, C5),
                    (5, E5), (6, F4), (6.5, A4), (7, C5)]
    folder.mkdir(parents=True, exist_ok=True)
    intro, outro = folder / "intro.wav", folder / "outro.wav"
    write(intro, wav_bytes(jingle(progression, intro_melody, beat, 1.2)))
    outro_chords = [*progression[:3], (C3, [C4, E4, G4])]
    write(outro, wav_bytes(jingle(outro_chords, outro_melody, beat, 1.6)))
    return intro, outro


if __name__ == "__main__":
    import sys

    write_jingles(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
