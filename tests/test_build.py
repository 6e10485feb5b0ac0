"""End to end, offline: scripts in, a published show out, checked as a listener's app would."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import feedparser
import numpy as np
import pytest
from conftest import ENGLISH, MANDARIN, decode_mp3, run_cli, tree_snapshot
from test_espeak import pitch_hz

from duopod.audio.decode import SAMPLE_RATE


def episode_dir(root: Path, prefix: str) -> Path:
    (found,) = [p for p in (root / "episodes").iterdir() if p.name.startswith(prefix)]
    return found


def record(folder: Path) -> dict:
    return json.loads((folder / "episode.json").read_text(encoding="utf-8"))


def test_mp3_duration_equals_the_timeline(built_show: Path) -> None:
    for prefix in ("2025-12-10", "2025-12-12"):
        folder = episode_dir(built_show, prefix)
        data = record(folder)
        samples = decode_mp3(folder / data["audio"]["file"])
        assert abs(len(samples) / SAMPLE_RATE - data["timeline"]["duration"]) < 0.05
        assert data["timeline"]["turns"][-1]["end"] <= data["timeline"]["duration"]


def test_both_hosts_audible_and_distinguishable(built_show: Path) -> None:
    folder = episode_dir(built_show, "2025-12-10")
    data = record(folder)
    samples = decode_mp3(folder / data["audio"]["file"])
    assert len(data["timeline"]["turns"]) == 35
    by_host: dict[str, list[np.ndarray]] = {}
    for turn in data["timeline"]["turns"]:
        a, b = int(turn["start"] * SAMPLE_RATE), int(turn["end"] * SAMPLE_RATE)
        by_host.setdefault(turn["speaker"], []).append(samples[a:b])
    assert set(by_host) == {"雷总", "董小姐"}
    pitches = {}
    for host, parts in by_host.items():
        audio = np.concatenate(parts)
        assert 20 * np.log10(np.sqrt(np.mean(audio**2))) > -30, host  # audible
        pitches[host] = pitch_hz(audio)
    assert pitches["董小姐"] > 1.3 * pitches["雷总"]
    # between turns the mix is quiet: the timeline really says who speaks when
    first, second = data["timeline"]["turns"][1:3]
    gap = samples[int(first["end"] * SAMPLE_RATE) + 200 : int(second["start"] * SAMPLE_RATE) - 200]
    assert np.abs(gap).max() < 0.05


def _vtt_cues(text: str) -> list[tuple[float, float, str, str]]:
    def seconds(stamp: str) -> float:
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    cues = []
    for block in text.strip().split("\n\n")[1:]:
        lines = block.splitlines()
        start, end = lines[1].split(" --> ")
        voice = re.match(r"<v ([^>]+)>(.*)", lines[2], re.S)
        assert voice, block
        body = voice.group(2) + "".join(lines[3:])
        cues.append((seconds(start), seconds(end), voice.group(1), body))
    return cues


def test_transcript_follows_the_timeline(built_show: Path) -> None:
    folder = episode_dir(built_show, "2025-12-10")
    data = record(folder)
    cues = _vtt_cues((folder / "transcript.vtt").read_text(encoding="utf-8"))
    sentences = [(s, t["speaker"]) for t in data["timeline"]["turns"] for s in t["sentences"]]
    assert len(cues) >= len(sentences) > 31
    spoken = "".join(s["text"] for s, _ in sentences)
    assert "".join(c[3] for c in cues).replace(" ", "") == spoken.replace(" ", "")
    for start, end, speaker, _body in cues:
        # where hosts overlap (a backchannel, a cut-in) two sentences are heard at once
        owners = [(s, who) for s, who in sentences if s["start"] - 0.002 <= start < s["end"]]
        assert any(who == speaker and end <= s["end"] + 0.002 for s, who in owners), start
    starts = [c[0] for c in cues]
    assert starts == sorted(starts)


def test_chapters_follow_the_sections(built_show: Path) -> None:
    data = record(episode_dir(built_show, "2025-12-10"))
    chapters = data["timeline"]["chapters"]
    assert [c["title"] for c in chapters] == ["开场", "新规说了什么", "谁在算账", "国产芯片怎么办", "结语"]
    assert chapters[0]["start"] == 0
    assert chapters[-1]["end"] == data["timeline"]["duration"]
    for before, after in itertools.pairwise(chapters):
        assert before["end"] == after["start"]


def test_feed_lists_both_episodes_with_exact_enclosures(built_show: Path) -> None:
    feed_path = built_show / "episodes" / "feed.xml"
    parsed = feedparser.parse(feed_path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.title for e in parsed.entries] == [
        "Why Open-Weight Models Keep Getting Cheaper", "芯片出口新规下的算力之争",
    ]
    for entry in parsed.entries:
        (enclosure,) = entry.enclosures
        slug = enclosure.href.rsplit("/", 2)[-2]
        audio = built_show / "episodes" / slug / enclosure.href.rsplit("/", 1)[-1]
        assert int(enclosure.length) == audio.stat().st_size
        assert enclosure.type == "audio/mpeg"


def test_page_has_player_chapters_transcript_and_source(built_show: Path) -> None:
    folder = episode_dir(built_show, "2025-12-10")
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "<audio" in page and record(folder)["audio"]["file"] in page
    assert page.count('class="sentence"') >= 31
    assert "新规说了什么" in page and "到示例通讯社阅读原文" in page
    site = (built_show / "episodes" / "index.html").read_text(encoding="utf-8")
    assert site.index("Why Open-Weight") < site.index("芯片出口新规")


def test_rebuild_uses_the_cache_and_keeps_the_guid(built_show: Path) -> None:
    folder = episode_dir(built_show, "2025-12-12")
    guid = record(folder)["guid"]
    result = run_cli(built_show, "build", f"scripts/{ENGLISH}", "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    assert "0 rendered, 9 cached" in result.stdout
    assert record(episode_dir(built_show, "2025-12-12"))["guid"] == guid
    assert not [p for p in (built_show / "episodes").iterdir() if p.name.startswith(".")]


BAD_SCRIPTS = {
    "no-dialogue.md": "---\ntitle: t\ndate: 2025-12-10\n---\n",
    "no-text.md": "---\ntitle: t\ndate: 2025-12-10\n---\n雷总\n",
    "text-first.md": "---\ntitle: t\ndate: 2025-12-10\n---\n你好。\n雷总\n好。\n",
    "bad-yaml.md": "---\ntitle: [oops\n---\n雷总\n好。\n",
    "bad-date.md": "---\ntitle: t\ndate: 2025-02-30\n---\n雷总\n好。\n",
    "no-title.md": "---\ndate: 2025-12-10\n---\n雷总\n好。\n",
    "escape.md": "---\ntitle: t\ndate: 2025-12-10\nsource:\n  file: ../../../etc/passwd\n---\n雷总\n好。\n",
    "unknown-host.md": "---\ntitle: t\ndate: 2025-12-10\nhosts: [雷总, 王总]\n---\n雷总\n好。\n王总\n好。\n",
}


@pytest.mark.parametrize("name", sorted(BAD_SCRIPTS))
def test_bad_input_one_line_exit_2_nothing_written(built_show: Path, name: str) -> None:
    script = built_show / "scripts" / name
    script.write_text(BAD_SCRIPTS[name], encoding="utf-8")
    before = tree_snapshot(built_show / "episodes")
    try:
        result = run_cli(built_show, "build", f"scripts/{name}", "--engine", "espeak")
    finally:
        script.unlink()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.match(rf"duopod: error: scripts/{re.escape(name)}:\d+: ", lines[0]), lines[0]
    assert tree_snapshot(built_show / "episodes") == before


def test_gbk_script_gets_an_encoding_hint_and_builds_with_the_flag(built_show: Path) -> None:
    script = built_show / "scripts" / "gbk.md"
    script.write_bytes("---\ntitle: 编码测试\ndate: 2025-12-11\n---\n雷总\n你好。\n董小姐\n你好。\n"
                       .encode("gb18030"))
    try:
        result = run_cli(built_show, "check", "scripts/gbk.md")
        assert result.returncode == 2
        assert "GBK/GB18030" in result.stderr and "--encoding" in result.stderr
        result = run_cli(built_show, "check", "scripts/gbk.md", "--encoding", "gb18030")
        assert result.returncode == 0, result.stderr
        assert "turns     2" in result.stdout
    finally:
        script.unlink()


def test_check_prints_the_outline(built_show: Path) -> None:
    result = run_cli(built_show, "check", f"scripts/{MANDARIN}")
    assert result.returncode == 0, result.stderr
    assert "turns     35    sections  4" in result.stdout
    assert "雷总: " in result.stdout and "董小姐: " in result.stdout


def test_missing_workspace_and_profile_are_clear(tmp_path: Path, built_show: Path) -> None:
    result = run_cli(tmp_path, "check", "x.md")
    assert result.returncode == 2 and "no show.toml found" in result.stderr
    script = built_show / "scripts" / "guest.md"
    script.write_text("---\ntitle: t\ndate: 2025-12-10\nhosts: [雷总, 嘉宾]\n---\n雷总\n好。\n嘉宾\n好。\n",
                      encoding="utf-8")
    try:
        result = run_cli(built_show, "check", "scripts/guest.md")
    finally:
        script.unlink()
    assert result.returncode == 2
    assert "no voice profile for host '嘉宾'" in result.stderr and "lei (雷总)" in result.stderr
