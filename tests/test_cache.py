"""The speech cache: what goes in comes out, and a damaged entry is never trusted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from duopod.audio.decode import SAMPLE_RATE
from duopod.speech.analysis import analyse
from duopod.speech.cache import SpeechCache, cache_key
from duopod.speech.engines.espeak_settings import EspeakSettings
from duopod.speech.model import SentenceSpan, Speech


def speech() -> Speech:
    tone = 0.25 * np.sin(np.arange(SAMPLE_RATE) * 2 * np.pi * 220 / SAMPLE_RATE)
    samples = tone.astype(np.float32)
    return Speech(samples, [SentenceSpan("你好。", 0.0, 1.0)], analyse(samples))


def test_an_entry_reads_back_as_stored(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path)
    stored = cache.put("ab" * 32, speech())
    found = cache.get("ab" * 32)
    assert found is not None and found.sentences == stored.sentences
    assert np.array_equal(np.asarray(found.samples), np.asarray(stored.samples))
    assert found.analysis is not None and found.analysis.trim_end > 0


def test_a_damaged_entry_is_discarded_not_trusted(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path)
    cache.put("cd" * 32, speech())
    (pcm,) = tmp_path.rglob("*.pcm")
    data = bytearray(pcm.read_bytes())
    data[100] ^= 0xFF
    pcm.write_bytes(bytes(data))
    assert cache.get("cd" * 32) is None
    assert not list(tmp_path.rglob("*.json"))  # gone, so it is rendered again


def test_keys_change_with_everything_that_changes_the_audio() -> None:
    cmn = EspeakSettings("cmn")
    base = cache_key("espeak", "1", cmn, "你好。")
    assert base == cache_key("espeak", "1", EspeakSettings("cmn"), "你好。")
    assert len({base, cache_key("edge", "1", cmn, "你好。"),
                cache_key("espeak", "2", cmn, "你好。"),
                cache_key("espeak", "1", EspeakSettings("cmn+f3"), "你好。"),
                cache_key("espeak", "1", EspeakSettings("cmn", rate=170), "你好。"),
                cache_key("espeak", "1", cmn, "您好。")}) == 6
