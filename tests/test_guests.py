"""Guests (issue 39): a speaker besides the hosts, declared in the front matter with a voice
profile like a host's, speaks in their own voice in build, say and transcripts, is a
podcast:person role="guest" in the feed and named on the page; `duopod draft --guest`
writes them in. And the AI-content disclosure of an episode whose words a model wrote."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from chat_server import ChatServer
from conftest import decode_mp3, run_cli

from duopod.script.parse import parse_script

PC = "https://podcastindex.org/namespace/1.0"
ARTICLE = Path(__file__).parent / "data" / "article-h200-damaged.txt"
GUEST_PROFILE = """# 李教授: a guest of the Mandarin show.
speaker = "李教授"

[espeak]
voice = "cmn"
variant = "m7"
rate = 150
pitch = 20

[kokoro]
voice = "zm_yunjian"
"""
SCRIPT = """---
title: 芯片出口的三方看法
date: 2025-12-14
hosts: [雷总, 董小姐]
guests: [李教授]
---
雷总
早上好，今天我们请来了李教授。
董小姐
李教授，美方允许英伟达出售H200芯片，您怎么看？
李教授
这件事要看中方是否批准，目前外交部只是表示注意到有关报道。
雷总
谢谢李教授，我们下期再见。
"""


def with_guest(show: Path) -> Path:
    (show / "voices" / "li.toml").write_text(GUEST_PROFILE, "utf-8")
    return show


def test_a_declared_guest_parses_and_an_undeclared_one_off_is_still_an_error(
        show: Path) -> None:
    with_guest(show)
    path = show / "scripts" / "guest.md"
    path.write_text(SCRIPT, "utf-8")
    script = parse_script(path, workspace=show)
    assert script.hosts == ("雷总", "董小姐") and script.meta.guests == ("李教授",)
    assert [t.speaker for t in script.turns] == ["雷总", "董小姐", "李教授", "雷总"]
    done = run_cli(show, "check", "scripts/guest.md", "--engine", "espeak")
    assert done.returncode == 0, done.stderr
    undeclared = SCRIPT.replace("guests: [李教授]\n", "").replace("hosts: [雷总, 董小姐]\n", "")
    path.write_text(undeclared, "utf-8")
    (show / "voices" / "li.toml").unlink()  # no profile, not declared: a one-off speaker
    built = run_cli(show, "build", "scripts/guest.md", "--engine", "espeak")
    assert built.returncode == 2 and "'李教授' stands alone like a speaker's name" in \
        built.stderr
    with_guest(show)
    path.write_text(SCRIPT.replace("guests: [李教授]", "guests: [李教授, 王老师]"), "utf-8")
    done = run_cli(show, "check", "scripts/guest.md")
    assert done.returncode == 2 and "guest '王老师' is listed in guests but has no words" in \
        done.stderr


def voice_of(show: Path, speaker: str, engine: str) -> np.ndarray:
    out = show / f"say-{speaker}-{engine}.mp3"
    done = run_cli(show, "say", "美方允许英伟达出售芯片。", "--host", speaker, "--engine",
                   engine, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return decode_mp3(out)


def spectrum(samples: np.ndarray) -> np.ndarray:
    """The average magnitude spectrum (64 bands) of the voiced part: a voice's colour."""
    frames = samples[: len(samples) // 1024 * 1024].reshape(-1, 1024)
    loud = frames[np.sqrt((frames ** 2).mean(axis=1)) > 0.02]
    bands = np.abs(np.fft.rfft(loud * np.hanning(1024), axis=1))[:, :512].mean(axis=0)
    shape = bands.reshape(64, 8).mean(axis=1)
    return shape / shape.sum()


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["espeak", "kokoro"])
def test_a_guest_episode_builds_with_three_voices_and_the_guest_in_the_feed(
        show: Path, engine: str) -> None:
    if engine == "kokoro":
        pytest.importorskip("onnxruntime", reason="the neural extra is not installed")
    with_guest(show)
    (show / "scripts" / "guest.md").write_text(SCRIPT, "utf-8")
    built = run_cli(show, "build", "scripts/guest.md", "--engine", engine, timeout=1200)
    assert built.returncode == 0, built.stderr
    folder = next((show / "episodes").glob("2025-12-14-*"))
    transcript = json.loads((folder / "transcript.json").read_text("utf-8"))
    speakers = {s["speaker"] for s in transcript["segments"]}
    assert speakers == {"雷总", "董小姐", "李教授"}, speakers
    assert "李教授" in (folder / "transcript.vtt").read_text("utf-8")
    record = json.loads((folder / "episode.json").read_text("utf-8"))
    assert record["guests"] == ["李教授"] and record["hosts"] == ["雷总", "董小姐"]
    page = (folder / "index.html").read_text("utf-8")
    assert "嘉宾：李教授" in page
    feed = ET.parse(show / "episodes" / "feed.xml").getroot()
    item = next(i for i in feed.iter("item") if i.findtext("title") == "芯片出口的三方看法")
    people = {(p.text, p.get("role")) for p in item.iter(f"{{{PC}}}person")}
    assert people == {("雷总", "host"), ("董小姐", "host"), ("李教授", "guest")}
    # three distinct voices: the same sentence said by each, compared by its spectrum
    colours = {name: spectrum(voice_of(show, name, engine)) for name in speakers}
    names = sorted(colours)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            distance = float(np.abs(colours[a] - colours[b]).sum())
            assert distance > 0.05, (a, b, distance)


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    stand_in = ChatServer().start()
    yield stand_in
    stand_in.stop()


@pytest.mark.slow
def test_draft_guest_writes_the_guest_in_and_the_feed_discloses_the_model(
        show: Path, chat: ChatServer, tmp_path: Path) -> None:
    """`duopod draft --guest 李教授`: the guest speaks their own turns, grounded like the
    hosts'; built (espeak: no neural voice), the feed carries podcast:txt ai-content true
    for the model's words and the guest person, and feedparser, podcastparser and gPodder
    read it."""
    import feedparser
    import podcastparser

    with_guest(show)
    done = run_cli(show, "draft", str(ARTICLE), "--base-url", chat.url, "--guest", "李教授",
                   "--format", "brief", "--date", "2025-12-14", "--out", "scripts/d.md")
    assert done.returncode == 0, done.stderr
    system = chat.calls[0].payload["messages"][0]["content"]
    assert "李教授" in system and "only what the article supports" in system
    script = show / "scripts" / "d.md"
    parsed = parse_script(script, workspace=show)
    assert parsed.meta.guests == ("李教授",) and parsed.meta.written_by == \
        "default (duopod draft)"
    assert "李教授" in {t.speaker for t in parsed.turns}
    report = json.loads(script.with_suffix(".draft.json").read_text("utf-8"))
    assert report["unsupported"] == 0 and report["guests"] == ["李教授"]
    script.write_text(script.read_text("utf-8").replace("status: draft", "status: published"),
                      "utf-8")
    built = run_cli(show, "build", "scripts/d.md", "--engine", "espeak")
    assert built.returncode == 0, built.stderr
    body = (show / "episodes" / "feed.xml").read_bytes()
    root = ET.fromstring(body)
    item = next(i for i in root.iter("item") if i.findtext("pubDate", "").startswith(
        "Sun, 14 Dec 2025"))
    txt = [(t.get("purpose"), t.text) for t in item.iter(f"{{{PC}}}txt")]
    assert txt == [("ai-content", "true")]
    assert ("ai-content", "true") in [(t.get("purpose"), t.text) for t in
                                      root.find("channel").findall(f"{{{PC}}}txt")]
    others = [i for i in root.iter("item") if i is not item]
    assert not any(i.find(f"{{{PC}}}txt") is not None for i in others)
    assert ("李教授", "guest") in {(p.text, p.get("role")) for p in item.iter(f"{{{PC}}}person")}
    record = json.loads(next((show / "episodes").glob("2025-12-14-*/episode.json")).read_text(
        "utf-8"))
    assert record["ai_content"] == ["words: default (duopod draft)"]
    page = next((show / "episodes").glob("2025-12-14-*/index.html")).read_text("utf-8")
    assert "本期使用了人工智能生成的内容: 文字由语言模型（default (duopod draft)）撰写" in page
    assert not feedparser.parse(body).bozo
    assert len(podcastparser.parse("https://podcast.example.com/feed.xml",
                                   io.BytesIO(body))["episodes"]) == len(others) + 1
    if shutil.which("gpo") is None:
        pytest.skip("Debian's gpodder (gpo) is not installed")
    from duopod.serve import in_background
    from duopod.show.workspace import load_workspace

    env = {"GPODDER_HOME": str(tmp_path / "gpo"), "PATH": "/usr/bin:/bin",
           "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads")}
    with in_background(load_workspace(show)) as preview:
        for args in (("subscribe", f"{preview.url}/feed.xml"), ("update",)):
            subprocess.run(["gpo", *args], env=env, check=True, capture_output=True,
                           timeout=120)
        listing = subprocess.run(["gpo", "episodes"], env=env, check=True, text=True,
                                 capture_output=True, timeout=120).stdout
    assert record["title"] in listing


def test_the_voices_setting_discloses_neural_voices_not_espeak() -> None:
    """Default on: an episode spoken by a neural engine is disclosed even when a person
    wrote every word; espeak's rule-based voices are not AI-generated; off: words only."""
    from dataclasses import replace

    from duopod.script.model import EpisodeMeta, Script
    from duopod.show.config import ShowConfig
    from duopod.site.render import ai_content
    from duopod.text.notes import ShowNotes

    show = ShowConfig(title="t", author="a", language="zh-CN", base_url="https://x.example",
                      description="d", category="News")
    import datetime as dt

    plain = Script(Path("x.md"), EpisodeMeta("t", dt.date(2025, 12, 10), "t"), (), ())
    notes = ShowNotes(None, [], [])
    assert ai_content(plain, notes, "espeak", show) == ()
    assert ai_content(plain, notes, "kokoro", show) == ("voices: kokoro",)
    off = replace(show, disclose_synthetic_voices=False)
    assert ai_content(plain, notes, "kokoro", off) == ()
    written = replace(plain, meta=replace(plain.meta, written_by="m (duopod draft)"))
    assert ai_content(written, notes, "edge", off) == ("words: m (duopod draft)",)
