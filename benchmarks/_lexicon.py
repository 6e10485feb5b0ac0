"""The lexicon at scale (issue 28 item 8): loading a 4,000-entry ``lexicon.toml`` and
rewriting 10,000 sentences through 10,000 entries, both linear in their sizes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from duopod.speech.lexicon import load_show_lexicon, speller

Row = Callable[[str, str, str, bool], None]


def lexicon_file(folder: Path, count: int) -> Path:
    """``count`` entries: half at the top, half in a [zh-CN] table."""
    folder.mkdir(parents=True, exist_ok=True)
    top = [f'"Word{i}" = "词{i}"' for i in range(count // 2)]
    table = [f'"H{i}X" = "H{i}叉"' for i in range(count - count // 2)]
    (folder / "lexicon.toml").write_text("\n".join([*top, "[zh-CN]", *table]) + "\n",
                                         encoding="utf-8")
    return folder


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(work: Path, entries: int, sentences: int) -> tuple[float, float]:
    """(seconds to load ``entries``, seconds to speak ``sentences`` through them)."""
    folder = lexicon_file(work / f"lexicon{entries}", entries)
    load = timed(lambda: load_show_lexicon(folder))
    found = load_show_lexicon(folder)
    texts = [f"今天聊Word{i}和H{i}X，还有别的{i}。" for i in range(sentences)]
    spell = speller(found, "zh-CN", None)
    speak = timed(lambda: [spell.say(t) for t in texts] and spell.hits(texts))
    return load, speak


def bench_lexicon(work: Path, row: Row) -> None:
    print("lexicon")
    small_load, small_speak = measure(work, 1_000, 1_000)
    load, _ = measure(work, 4_000, 10)
    big_load, big_speak = measure(work, 10_000, 10_000)
    row("lexicon load, 4,000 entries", f"{load:.2f} s", "< 1 s", load < 1)
    row("lexicon, 10,000 entries x 10,000 sentences", f"{big_load + big_speak:.2f} s",
        "< 5 s", big_load + big_speak < 5)
    ratio = (big_load + big_speak) / max(1e-6, small_load + small_speak)
    row("lexicon 10k x 10k vs 1k x 1k", f"{ratio:.0f}x (linear: 10x)", "<= 30x", ratio <= 30)
