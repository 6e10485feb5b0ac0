"""How the hosts meet (issue 37): the example episodes mixed as before (every speaker change
[audio] gap +- jitter, nothing overlapped) and as a conversation ([mix] as shipped), from
the same cached kokoro speech, in one run:

- the speaker-change gaps (next turn's start minus the previous turn's end, over every
  change of speaker): median, 10th and 90th percentile, the share under zero (overlaps);
- Whisper-base's character error rate over the Mandarin example's sentences, heard in the
  published MP3 at the timeline's times as ``duopod verify`` hears them: the main speakers'
  sentences (backchannels aside, which are meant to be under the host) before and after;
- loudness and true peak where two voices overlap: each overlapped window (0.2 s either
  side) of the conversation's MP3, its true peak and its loudness over the 3 s around it,
  against the file's integrated loudness.

Without the kokoro engine the gaps are measured with espeak and the CER is skipped.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

EVEN = {"timing": '"even"', "interruptions": "false", "backchannels": "false"}
"""The [mix] of before issue 37: even gaps, no overlaps."""


def _with_mix(show: Path, values: dict[str, str]) -> None:
    toml = (show / "show.toml").read_text(encoding="utf-8")
    for key, value in values.items():
        toml = "\n".join(f"{key} = {value}" if line.split("=")[0].strip() == key
                         and line.strip().startswith(key) else line
                         for line in toml.split("\n"))
    (show / "show.toml").write_text(toml, encoding="utf-8")


def _record(show: Path, prefix: str) -> tuple[Path, dict]:
    import json

    folder = next(p for p in (show / "episodes").iterdir() if p.name.startswith(prefix))
    return folder, json.loads((folder / "episode.json").read_text(encoding="utf-8"))


def gaps(turns: list[dict]) -> np.ndarray:
    return np.array([b["start"] - a["end"] for a, b in itertools.pairwise(turns)
                     if a["speaker"] != b["speaker"]])


def describe(found: np.ndarray) -> str:
    return (f"median {np.median(found):.2f} s, p10 {np.percentile(found, 10):.2f} s, "
            f"p90 {np.percentile(found, 90):.2f} s, {np.mean(found < 0):.0%} overlapped "
            f"({len(found)} changes)")


def _main_cer(show: Path, slug: str) -> tuple[float, int]:
    """Mean CER of the sentences of every turn over a second long (the backchannels are
    the example's only shorter turns), as duopod verify hears them."""
    from duopod.show.workspace import load_workspace
    from duopod.verify.episode import verify_episode

    report = verify_episode(load_workspace(show), slug, write=False)
    main = [s for s in report.sentences if s.end - s.start > 1.0]
    return sum(s.cer for s in main) / len(main), len(main)


def _overlaps(data: dict, audio: Path) -> tuple[float, float, float, int]:
    """(highest true peak, quietest and loudest 3 s loudness around an overlap, count)."""
    from conftest import decode_mp3

    from duopod.audio.decode import SAMPLE_RATE
    from duopod.audio.loudness import integrated_loudness
    from duopod.mix.peak import true_peak_db

    samples = decode_mp3(audio)
    turns = data["timeline"]["turns"]
    windows = [(b["start"], a["end"]) for a, b in itertools.combinations(turns, 2)
               if b["start"] < a["end"]]
    peaks, levels = [], []
    for lo, hi in windows:
        peaks.append(true_peak_db(samples[int((lo - 0.2) * SAMPLE_RATE):
                                          int((hi + 0.2) * SAMPLE_RATE)]))
        middle = (lo + hi) / 2
        levels.append(integrated_loudness(samples[int((middle - 1.5) * SAMPLE_RATE):
                                                  int((middle + 1.5) * SAMPLE_RATE)], 1))
    return max(peaks), min(levels), max(levels), len(windows)


def bench_conversation(work: Path, copy_show: Callable[[Path], Path], mandarin: str,
                       english: str, row: Callable[[str, str, str, bool], None]) -> None:
    from duopod.speech.engines import registry
    from duopod.verify.whisper import missing

    print("conversation (speaker-change gaps, CER and peaks of the overlaps, before/after)")
    engine = "espeak" if registry()["kokoro"].unavailable() else "kokoro"
    show = copy_show(work / "conversation")
    scripts = [f"scripts/{mandarin}", f"scripts/{english}"]
    measured: dict[str, dict[str, tuple[Path, dict]]] = {}
    cer: dict[str, tuple[float, int]] = {}
    hear = engine == "kokoro" and missing() is None
    for name in ("before", "after"):
        if name == "before":
            _with_mix(show, EVEN)
        else:  # the [mix] duopod ships
            (show / "show.toml").write_bytes((Path(__file__).parent.parent / "show.toml")
                                             .read_bytes())
        command = "build" if name == "before" else "mix"  # the same speech, mixed again
        done = subprocess.run([sys.executable, "-m", "duopod", command, *scripts, "--engine",
                               engine], cwd=show, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            errors = [line for line in (done.stdout + done.stderr).splitlines()
                      if "error" in line.lower() or "failed" in line.lower()]
            row(f"conversation ({name})", f"failed (exit {done.returncode}): "
                f"{' / '.join(errors)[-400:] or done.stderr[-300:]}", "runs", False)
            return
        measured[name] = {prefix: _record(show, prefix)
                          for prefix in ("2025-12-10", "2025-12-12")}
        if hear:
            cer[name] = _main_cer(show, measured[name]["2025-12-10"][1]["slug"])
    for prefix, label in (("2025-12-10", "Mandarin"), ("2025-12-12", "English")):
        before = gaps(measured["before"][prefix][1]["timeline"]["turns"])
        after = gaps(measured["after"][prefix][1]["timeline"]["turns"])
        target = "median 0.15-0.35 s, spread"
        ok = 0.15 <= float(np.median(after)) <= 0.35 and float(np.std(after)) > 0.05
        row(f"speaker-change gaps, {label} example ({engine}): before / after",
            f"{describe(before)} / {describe(after)}", target, ok)
    folder, data = measured["after"]["2025-12-10"]
    peak, quiet, loud, count = _overlaps(data, folder / data["audio"]["file"])
    integrated = data["audio"]["loudness_lufs"]
    row(f"overlapped passages, Mandarin example ({count} windows)",
        f"true peak at most {peak:.1f} dBTP; 3 s loudness around them {quiet:.1f} to "
        f"{loud:.1f} LUFS (file {integrated:.1f} LUFS integrated, "
        f"{data['audio']['true_peak_dbtp']:.1f} dBTP)", "<= -1 dBTP", peak <= -1.0)
    if cer:
        (before_cer, sentences), (after_cer, _n) = cer["before"], cer["after"]
        row(f"Whisper-base CER of the Mandarin example (kokoro), {sentences} main sentences "
            "in the MP3: before / after", f"{before_cer:.4f} / {after_cer:.4f} "
            f"({after_cer - before_cer:+.4f})", "within 0.005",
            abs(after_cer - before_cer) <= 0.005)
    else:
        row("Whisper-base CER of the Mandarin example", "skipped: needs the kokoro engine "
            "and the verify extra", "within 0.005", False)
