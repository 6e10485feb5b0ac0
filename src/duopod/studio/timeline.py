"""A built episode as the studio draws it: who speaks when (the record's sentence
timeline, the times the transcripts and ``verify`` use), its chapters, the levels of its
published MP3, and the sentences ``duopod verify`` flagged.

The levels are the peak of each twentieth of a second of the MP3 as listeners get it
(decoded by the bundled ffmpeg at a low rate, which a waveform needs, in one pass), kept
in ``.duopod/studio/levels/SLUG.json`` with the size and time of the MP3 they came from,
so an episode is decoded once per build, not per page view.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.decode import ffmpeg_exe
from ..disk.atomic import write_atomically
from ..errors import InputError
from ..show.workspace import Workspace
from ..store.episodes import episode_folder, read_record
from ..store.record import RecordError

__all__ = ["PER_SECOND", "Levels", "episode_view", "levels_of"]

PER_SECOND = 20
"""Level values per second of audio: a 13-minute episode is 15,600 of them."""
_DECODE_RATE = 8000
"""What the MP3 is decoded to for its levels (peaks need no more)."""
_FORMAT = 1


@dataclass(frozen=True)
class Levels:
    per_second: int
    peaks: list[int]
    """Each bin's peak, 0..1000 of full scale."""


def _identity(audio: Path) -> dict[str, object]:
    stat = audio.stat()
    return {"format": _FORMAT, "file": audio.name, "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns, "per_second": PER_SECOND}


def levels_of(workspace: Workspace, slug: str, audio: Path) -> Levels:
    """The MP3's levels, from the cache when it was made from this very file."""
    cache = workspace.state_dir / "studio" / "levels" / f"{slug}.json"
    identity = _identity(audio)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        kept = json.loads(cache.read_text(encoding="utf-8"))
        if kept["source"] == identity:
            return Levels(int(kept["per_second"]), [int(p) for p in kept["peaks"]])
    levels = measure_levels(audio)
    write_atomically(cache, json.dumps({"source": identity, "per_second": levels.per_second,
                                        "peaks": levels.peaks}).encode())
    return levels


def measure_levels(audio: Path) -> Levels:
    """Decode ``audio`` (mono, 8 kHz, 16-bit) and take each bin's peak."""
    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i",
                           str(audio), "-ac", "1", "-ar", str(_DECODE_RATE), "-f", "s16le",
                           "-"], capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[-300:]
        raise InputError(f"ffmpeg could not decode the episode's audio: {message}", audio)
    samples = np.abs(np.frombuffer(done.stdout, dtype="<i2").astype(np.int32))
    size = _DECODE_RATE // PER_SECOND
    bins = -(-samples.size // size)
    padded = np.zeros(bins * size, dtype=np.int32)
    padded[:samples.size] = samples
    peaks = padded.reshape(bins, size).max(axis=1) if bins else np.zeros(0, dtype=np.int32)
    return Levels(PER_SECOND, (np.minimum(peaks, 32768) * 1000 // 32768).tolist())


def _flags(workspace: Workspace, slug: str) -> dict[tuple[int, str], dict[str, object]]:
    """The sentences ``duopod verify`` flagged in its last report, by (turn number, text)."""
    from ..verify import report_path

    try:
        report = json.loads(report_path(workspace, slug).read_text(encoding="utf-8"))
        sentences = report["sentences"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    flagged = {}
    for s in sentences if isinstance(sentences, list) else []:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            if s["flagged"]:
                flagged[(int(s["turn"]), str(s["said"]))] = {
                    "heard": str(s["heard"]), "cer": float(s["cer"]),
                    "misheard": [str(m) for m in s["misheard"]]}
    return flagged


def episode_view(workspace: Workspace, slug: str) -> dict[str, object] | None:
    """The built episode ``slug`` (published or pending) as the timeline draws it, or
    None when there is none (never built, unpublished, or a record without timeline)."""
    folder = episode_folder(workspace, slug)
    try:
        record = read_record(folder / "episode.json")
    except RecordError:
        return None
    timeline = record.timeline
    audio = folder / record.audio.file
    if timeline is None or not audio.is_file():
        return None
    levels = levels_of(workspace, slug, audio)
    flags = _flags(workspace, slug)
    hosts = [*record.hosts, *record.guests]  # each speaker's colour, as the editor's
    return {
        "slug": slug, "audio": f"/site/{slug}/{record.audio.file}",
        "duration": timeline.duration, "hosts": hosts, "engine": record.engine,
        "chapters": [{"title": c.title, "start": c.start, "end": c.end}
                     for c in timeline.chapters],
        "turns": [{"number": t.index + 1, "index": t.index, "speaker": t.speaker,
                   "host": hosts.index(t.speaker) if t.speaker in hosts else 0,
                   "start": t.start, "end": t.end,
                   "sentences": [{"text": s.text, "start": s.start, "end": s.end,
                                  "flag": flags.get((t.index + 1, s.text))}
                                 for s in t.sentences]}
                  for t in timeline.turns],
        "levels": {"per_second": levels.per_second, "peaks": levels.peaks},
        "verified": bool(flags) or _has_report(workspace, slug),
    }


def _has_report(workspace: Workspace, slug: str) -> bool:
    from ..verify import report_path

    return report_path(workspace, slug).is_file()
