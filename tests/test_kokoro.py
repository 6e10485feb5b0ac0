"""The neural offline engine (kokoro): trusted weights, checked settings, real speech.

Tests that need the ``neural`` extra (onnxruntime, misaki, the weight packages) skip with
the install hint when it is missing; the rest (hash check, settings, registry) always run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import MANDARIN, copy_show, decode_mp3, run_cli

from duopod.audio.decode import SAMPLE_RATE
from duopod.errors import InputError
from duopod.mix.peak import true_peak_db
from duopod.show.workspace import VoiceProfile
from duopod.speech.engines import EngineOptions, choose_auto, kokoro, registry
from duopod.speech.engines.kokoro_model import (
    STYLE_SHAPE,
    HashMismatch,
    join_parts,
    style_table,
    voice_names,
)
from duopod.speech.engines.kokoro_settings import KokoroSettings

needs_extra = pytest.mark.skipif(
    kokoro.unavailable() is not None,
    reason="the kokoro engine is not installed: pip install -e '.[neural]'",
)

SHORT_SCRIPT = """---
title: 试听
date: 2025-12-10
hosts: [雷总, 董小姐]
---
雷总
早上好,欢迎收听芯闻两人谈。今天聊聊H200芯片。
董小姐
我是董小姐。DeepSeek-R1 671B这样的大模型,需要很多算力。
"""


def profile(tmp_path: Path, **settings: object) -> VoiceProfile:
    return VoiceProfile("lei", "雷总", tmp_path / "voices" / "lei.toml", {"kokoro": settings})


def example_sentences() -> list[str]:
    """Every sentence of the Mandarin example, as the build splits them."""
    from duopod.build import BuildOptions, load_script
    from duopod.show.workspace import load_workspace
    from duopod.text import split_sentences

    root = Path(__file__).parent.parent
    script = load_script(load_workspace(root), root / "scripts" / MANDARIN, BuildOptions())
    return [s for turn in script.turns for s in split_sentences(turn.text)]


# --- weights: joined, and trusted only by hash --------------------------------------

def write_parts(folder: Path) -> tuple[list[Path], str]:
    rng = np.random.default_rng(7)
    parts = []
    for index in range(4):
        part = folder / f"part{index}.bin"
        part.write_bytes(rng.integers(0, 256, 1000 + index, dtype=np.uint8).tobytes())
        parts.append(part)
    whole = b"".join(p.read_bytes() for p in parts)
    return parts, hashlib.sha256(whole).hexdigest()


def test_join_keeps_parts_that_match_the_hash(tmp_path: Path) -> None:
    parts, digest = write_parts(tmp_path)
    target = join_parts(parts, tmp_path / "cache" / "model.onnx", digest)
    assert target.read_bytes() == b"".join(p.read_bytes() for p in parts)


@pytest.mark.parametrize("damage", ["flipped byte", "wrong order", "missing part"])
def test_join_refuses_a_corrupted_model_and_leaves_nothing(tmp_path: Path, damage: str
                                                           ) -> None:
    parts, digest = write_parts(tmp_path)
    if damage == "flipped byte":
        data = bytearray(parts[2].read_bytes())
        data[10] ^= 0xFF
        parts[2].write_bytes(bytes(data))
    elif damage == "wrong order":
        parts[1], parts[2] = parts[2], parts[1]
    else:
        parts = parts[:3]
    cache = tmp_path / "cache"
    with pytest.raises(HashMismatch, match="sha256"):
        join_parts(parts, cache / "model.onnx", digest)
    assert list(cache.iterdir()) == []  # no model, no half-written temporary


def test_vendored_voices_are_whole_style_tables() -> None:
    assert {"zm_yunxi", "zf_xiaobei", "am_michael", "af_heart"} <= set(voice_names())
    for name in voice_names():
        table = style_table(name)
        assert table.shape == STYLE_SHAPE and np.isfinite(table).all()


# --- settings and registry -----------------------------------------------------------

def test_settings_are_validated_naming_the_profile(tmp_path: Path) -> None:
    engine = kokoro.KokoroEngine()
    assert engine.settings_for(profile(tmp_path, voice="zm_yunxi")) == \
        KokoroSettings("zm_yunxi", 1.0)
    assert engine.settings_for(profile(tmp_path, voice="zf_xiaobei", speed=1.2)).speed == 1.2
    bad = [({}, "no \\[kokoro\\] voice"), ({"voice": "zm_nobody"}, "no voice 'zm_nobody'"),
           ({"voice": "zm_yunxi", "speed": 3}, "speed .* from 0.5 to 2.0"),
           ({"voice": "zm_yunxi", "speed": "fast"}, "speed"),
           ({"voice": "zm_yunxi", "speed": True}, "speed"),
           ({"voice": "zm_yunxi", "pitch": 3}, "unknown kokoro setting 'pitch'")]
    for settings, message in bad:
        with pytest.raises(InputError, match=message) as caught:
            engine.settings_for(profile(tmp_path, **settings))
        assert caught.value.path == tmp_path / "voices" / "lei.toml"


def test_example_profiles_have_mandarin_and_english_voices_of_each_gender() -> None:
    import tomllib

    voices = {path.stem: tomllib.loads(path.read_text(encoding="utf-8"))["kokoro"]["voice"]
              for path in (Path(__file__).parent.parent / "voices").glob("*.toml")}
    assert voices["lei"].startswith("zm_") and voices["dong"].startswith("zf_")
    assert voices["alex"].startswith("am_") and voices["sam"].startswith("af_")
    assert [v.name for v in kokoro.voice_list("cmn")] == [
        "zf_xiaobei", "zf_xiaoni", "zf_xiaoxiao", "zf_xiaoyi",
        "zm_yunjian", "zm_yunxi", "zm_yunxia", "zm_yunyang"]


def test_registry_ranks_kokoro_between_edge_and_espeak(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    spec = registry()["kokoro"]
    assert registry()["edge"].auto_rank < spec.auto_rank < registry()["espeak"].auto_rank
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real_find_spec(name, *a))
    assert spec.unavailable() == "not installed: pip install 'duopod[neural]'"
    heard: list[str] = []
    monkeypatch.setitem(registry(), "edge", replace(registry()["edge"],
                                                    unavailable=lambda: "offline"))
    assert choose_auto(heard.append) == "espeak"
    assert "kokoro: not installed" in heard[0]


# --- the front end --------------------------------------------------------------------

@needs_extra
def test_model_codes_are_read_the_way_people_say_them() -> None:
    from duopod.speech.engines.kokoro_text import normalise_codes

    assert normalise_codes("H200和H20") == "H两百和H二十"
    assert normalise_codes("DeepSeek-R1 671B") == "DeepSeek R一 六七一B"
    assert normalise_codes("RTX 6000和RTX 4090") == "RTX 六千和RTX 四零九零"
    assert normalise_codes("显存有141GB") == "显存有一百四十一GB"
    assert normalise_codes("今天是12月10日") == "今天是12月10日"  # left to cn2an


@needs_extra
def test_the_mandarin_example_needs_no_symbol_the_model_lacks() -> None:
    from duopod.speech.engines.kokoro_text import mandarin_phonemes, vocabulary
    for sentence in example_sentences():
        phonemes = mandarin_phonemes(sentence)
        assert set(phonemes) <= set(vocabulary()), (sentence, phonemes)
        assert not any("A" <= c <= "Z" and c not in "AIOWYTQS" for c in phonemes)


@needs_extra
def test_long_sentences_are_cut_at_clauses_within_the_model_input() -> None:
    from duopod.speech.engines.kokoro_text import fitted_chunks, mandarin_phonemes, to_tokens

    sentence = "，".join(["英伟达把H200芯片卖给经过批准的中国客户"] * 20) + "。"
    chunks = list(fitted_chunks(sentence, mandarin_phonemes))
    assert len(chunks) > 1
    assert all(0 < len(to_tokens(c)) <= 510 for c in chunks)


# --- speech ----------------------------------------------------------------------------

@needs_extra
@pytest.mark.slow
def test_sentences_render_to_real_speech_one_span_each() -> None:
    engine = kokoro.make_engine(EngineOptions())
    sentences = ["早上好,欢迎收听芯闻两人谈。", "♪", "今天聊聊H200芯片。"]
    speech = engine.render_sync(sentences, KokoroSettings("zm_yunxi", 1.0))
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert np.sqrt(np.mean(speech.samples**2)) > 0.02  # not silence
    assert np.abs(speech.samples).max() <= 1.0
    rate = sum(len(s) for s in sentences) / speech.duration
    assert 2 < rate < 9, rate  # Mandarin: about four to six characters a second
    assert [s.text for s in speech.sentences] == sentences
    first, empty, last = speech.sentences
    assert 0 <= first.start < first.end <= empty.start == empty.end <= last.start < last.end
    assert last.end == pytest.approx(speech.duration)
    # the audio is at 44.1 kHz: most of its energy is in the voice band, none above 12 kHz
    spectrum = np.abs(np.fft.rfft(speech.samples)) ** 2
    freqs = np.fft.rfftfreq(speech.samples.size, 1 / SAMPLE_RATE)
    assert spectrum[freqs > 12_500].sum() < 1e-3 * spectrum.sum()


@pytest.mark.slow
@needs_extra
def test_a_short_script_builds_with_the_kokoro_engine(tmp_path: Path) -> None:
    root = copy_show(tmp_path / "show")
    (root / "scripts" / "2025-12-20-short.md").write_text(SHORT_SCRIPT, encoding="utf-8")
    result = run_cli(root, "build", "scripts/2025-12-20-short.md", "--engine", "kokoro")
    assert result.returncode == 0, result.stderr
    assert "kokoro" in result.stdout
    (mp3,) = (root / "episodes").glob("*/*.mp3")
    audio = decode_mp3(mp3)
    assert 6 < audio.size / SAMPLE_RATE < 60
    assert np.sqrt(np.mean(audio**2)) > 0.01
    # Kokoro's sharp onsets make the encoder overshoot the limiter by up to 1.5 dB: the
    # published file is within the ceiling all the same (ffmpeg's reading, and ours)
    measured = json.loads((mp3.parent / "episode.json").read_text(encoding="utf-8"))["audio"]
    assert measured["true_peak_dbtp"] <= -1.0 and abs(measured["loudness_lufs"] + 16) <= 1
    assert true_peak_db(audio) <= -0.9


@needs_extra
def test_the_model_is_loaded_once_per_process_for_every_engine(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two engines (two `say` lines, or a studio's many) share one session: the second
    line pays no model load."""
    from duopod.speech.engines import kokoro_model, kokoro_sessions

    built: list[object] = []

    class CountedModel(kokoro_model.Model):
        def __init__(self, path: Path) -> None:
            built.append(path)
            super().__init__(path)

    monkeypatch.setattr(kokoro_sessions, "_models", {})
    monkeypatch.setattr(kokoro_sessions, "Model", CountedModel)
    assert not kokoro_sessions.is_loaded()
    settings = KokoroSettings("zm_yunxi", 1.0)
    for _ in range(2):
        engine = kokoro.make_engine(EngineOptions())
        audio = engine.sentence_audio("早上好。", settings)
        assert audio.size > SAMPLE_RATE // 10
    assert len(built) == 1
    assert kokoro_sessions.is_loaded()
    assert kokoro_sessions.shared_session() is kokoro_sessions.shared_session()


@pytest.mark.slow
@needs_extra
def test_the_pipeline_says_what_one_sentence_at_a_time_says() -> None:
    """Turns rendered at once through the pipeline (two one-thread sessions, several turns'
    sentences interleaved on its queue) come out sample for sample, span for span, as the
    same sentences spoken one after another on the shared session: the cache keys, which
    did not change, still name the same audio."""
    from concurrent.futures import ThreadPoolExecutor

    engine = kokoro.make_engine(EngineOptions())
    turns = [
        (["今天聊聊H200芯片。", "♪", "DeepSeek-R1 671B这样的大模型，需要很多算力。"],
         KokoroSettings("zm_yunxi", 1.0)),
        (["早上好。", "H20和H200不是一回事。"], KokoroSettings("zf_xiaobei", 1.1)),
        (["Good morning, and welcome.", "The H200 has 141GB of memory."],
         KokoroSettings("af_heart", 1.0)),
    ]
    with ThreadPoolExecutor(len(turns)) as pool:
        piped = list(pool.map(lambda turn: engine.render_sync(*turn), turns))
    for (sentences, settings), speech in zip(turns, piped, strict=True):
        alone = engine.render_in_order(sentences, settings)
        assert np.array_equal(np.asarray(speech.samples), np.asarray(alone.samples))
        assert speech.sentences == alone.sentences
        assert np.sqrt(np.mean(np.asarray(speech.samples) ** 2)) > 0.02


@pytest.mark.slow
@needs_extra
def test_say_yields_each_sentence_as_it_is_spoken_and_writes_what_a_build_says(
        tmp_path: Path) -> None:
    """``say_sentences`` hands over the first sentence before the second is spoken (the
    studio plays it meanwhile), and ``say_line``'s WAV holds the samples of a build's
    render of the same sentences."""
    import wave

    from duopod.show.workspace import load_workspace
    from duopod.speech.say import say_line, say_sentences

    root = copy_show(tmp_path / "show")
    workspace = load_workspace(root)
    engine = kokoro.make_engine(EngineOptions())
    spoken: list[str] = []
    speak = engine.sentence_audio

    def counted(sentence: str, settings: dict[str, object]) -> np.ndarray:
        spoken.append(sentence)
        return speak(sentence, settings)

    engine.sentence_audio = counted  # type: ignore[method-assign]
    stream = say_sentences(workspace, "早上好。今天聊聊芯片。", "雷总", engine)
    first = next(stream)
    assert (first.index, first.written, len(spoken)) == (0, "早上好。", 1)
    assert first.samples.size > SAMPLE_RATE // 10
    assert [s.written for s in stream] == ["今天聊聊芯片。"]
    said = say_line(workspace, "早上好。今天聊聊芯片。", "雷总", engine, tmp_path / "a.wav")
    settings = engine.settings_for(workspace.profile_for("雷总"))
    built = engine.render_sync(said.spoken, settings)
    with wave.open(str(tmp_path / "a.wav"), "rb") as audio:
        pcm = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
    assert said.speech.sentences == built.sentences
    assert np.array_equal(np.asarray(said.speech.samples), np.asarray(built.samples))
    assert pcm.size == len(built.samples)


@pytest.mark.slow
@needs_extra
def test_the_studio_hears_a_turn_alone_on_the_shared_session_into_the_builds_cache(
        show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The play button's turn runs on the shared session (every core on its sentence), not
    through the build's pipeline of one-thread sessions; what it caches is what a build
    of the script then finds."""
    import asyncio

    from duopod.build import BuildOptions, load_script
    from duopod.show.workspace import load_workspace
    from duopod.speech.engines import kokoro_pipeline
    from duopod.speech.lexicon import script_speller
    from duopod.speech.render import stale_turns
    from duopod.studio.hearing import hearing, one_turn

    workspace = load_workspace(show)
    script = one_turn(load_script(workspace, show / "scripts" / MANDARIN, BuildOptions()), 1, 0)
    engine = kokoro.make_engine(EngineOptions())

    def no_pipeline() -> None:
        raise AssertionError("a turn heard alone went through the build's pipeline")

    monkeypatch.setattr(kokoro_pipeline, "shared_pipeline", no_pipeline)
    async def heard() -> tuple[bool, bytes]:
        said = await hearing(workspace, script, engine)
        return said.cached, b"".join([pcm async for pcm in said.pcm])

    cached, pcm = asyncio.run(heard())
    assert not cached and len(pcm) / 2 / 44_100 > 0.5
    spell = script_speller(workspace, script, engine.name)
    assert stale_turns(script, workspace, engine, spell.say if spell else None) == []
