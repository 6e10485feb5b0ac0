"""The offline engine: real speech, of plausible length, with sentence timings."""

from __future__ import annotations

import numpy as np

from duopod.audio.decode import SAMPLE_RATE
from duopod.speech.engines.espeak import EspeakEngine, list_voices
from duopod.speech.engines.espeak_settings import EspeakSettings
from duopod.text import split_sentences


def pitch_hz(samples: np.ndarray) -> float:
    """Median fundamental frequency of the voiced 40 ms frames (autocorrelation)."""
    audio = samples.astype(np.float32)
    if audio.dtype != np.float32 or np.abs(audio).max() > 2:
        audio = audio / 32768
    frame = int(0.04 * SAMPLE_RATE)
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 60
    estimates = []
    for start in range(0, len(audio) - frame, frame):
        x = audio[start : start + frame]
        if np.sqrt(np.mean(x**2)) < 0.02:
            continue
        x = x - x.mean()
        corr = np.correlate(x, x, mode="full")[frame - 1 :]
        lag = lo + int(np.argmax(corr[lo:hi]))
        if corr[lag] > 0.5 * corr[0]:
            estimates.append(SAMPLE_RATE / lag)
    return float(np.median(estimates))


def test_mandarin_and_english_speech_is_real() -> None:
    engine = EspeakEngine()
    for voice, text, chars_per_second in (
        ("cmn", "早上好，欢迎收听。今天聊聊英伟达的H20芯片。", (2, 9)),
        ("en-us", "Good morning, and welcome to the show. Today we talk about chips.", (8, 25)),
    ):
        speech = engine.render_sync(split_sentences(text), EspeakSettings(voice))
        assert speech.samples.dtype == np.float32
        assert np.sqrt(np.mean(speech.samples**2)) > 0.02  # not silence
        rate = len(text) / speech.duration
        assert chars_per_second[0] < rate < chars_per_second[1], rate
        assert len(speech.sentences) == 2
        first, second = speech.sentences
        assert 0 <= first.start < first.end < second.start < second.end <= speech.duration + 1e-6


def test_host_voices_differ_in_pitch() -> None:
    engine = EspeakEngine()
    text = "这说明了什么？说明算力就是战斗力。"
    male = engine.render_sync(split_sentences(text), EspeakSettings("cmn+m3", pitch=35))
    female = engine.render_sync(split_sentences(text), EspeakSettings("cmn+f3", pitch=65))
    assert pitch_hz(female.samples) > 1.3 * pitch_hz(male.samples)


def test_voice_list_has_mandarin_and_english() -> None:
    languages = dict(list_voices())
    assert "cmn" in languages and "en-us" in languages
    assert EspeakEngine().render_sync(["你好。"], EspeakSettings("cmn")).duration > 0.2


def test_profile_settings_are_checked(tmp_path) -> None:
    import pytest

    from duopod.errors import InputError
    from duopod.show.workspace import VoiceProfile

    engine = EspeakEngine()

    def profile(settings: dict) -> VoiceProfile:
        return VoiceProfile("lei", "雷总", tmp_path / "lei.toml", {"espeak": settings})

    assert engine.settings_for(profile({"voice": "cmn", "variant": "m3", "rate": 170})) == \
        EspeakSettings("cmn+m3", rate=170)
    for settings, words in (({"voice": "cmn", "speed": 1}, "unknown espeak setting 'speed'"),
                            ({"voice": "cmn", "rate": 9000}, "rate in profile 'lei'"),
                            ({"voice": "zz-nope"}, "espeak-ng has no voice 'zz-nope'"),
                            ({"rate": 170}, "has no [espeak] voice")):
        with pytest.raises(InputError) as caught:
            engine.settings_for(profile(settings))
        assert words in str(caught.value)


def test_repeated_renders_are_identical() -> None:
    """espeak-ng's pitch flutter runs on across calls: without a reset, the same text came
    out a few samples longer or shorter each time (so --no-cache re-renders differed)."""
    engine = EspeakEngine()
    settings = EspeakSettings("en-us+m1", rate=170, pitch=40)
    text = "Good morning and welcome to the show. I'm Alex."
    first = engine.render_sync(text, settings)
    engine.render_sync("Something else in between, in another voice.",
                       EspeakSettings("en-us+f2"))
    engine.render_sync("你好，今天聊芯片。", EspeakSettings("cmn+f3", rate=160))
    second = engine.render_sync(text, settings)
    assert np.array_equal(first.samples, second.samples)
    assert first.sentences == second.sentences


def test_every_listed_voice_is_accepted_by_the_build(tmp_path) -> None:
    from duopod.show.workspace import VoiceProfile

    engine = EspeakEngine()
    voices = dict(list_voices())
    assert voices["en"] == "English (Great Britain)" and "en-gb" not in voices
    assert "fo" not in voices  # its dictionary is not shipped: it cannot speak
    for tag in voices:
        profile = VoiceProfile("p", "P", tmp_path / "p.toml", {"espeak": {"voice": tag}})
        assert engine.settings_for(profile).voice == tag
