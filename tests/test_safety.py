"""Never lose work, never publish garbage: kills, interrupts, concurrent builds, hostile
input, full disks and corrupt caches, each provoked and checked against the site."""

from __future__ import annotations

import errno
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import feedparser
import numpy as np
import pytest
from conftest import ENGLISH, MANDARIN, copy_show, run_cli, tree_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duopod.build import BuildOptions, build_episode
from duopod.errors import DuopodError, InputError
from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace
from duopod.speech.engines.espeak import EspeakEngine
from duopod.speech.engines.espeak_settings import EspeakSettings
from duopod.text import split_sentences

PRODUCER_FOLDERS = ("scripts", "voices", "templates", "music", "art")


def feed_guids(show: Path) -> set[str]:
    parsed = feedparser.parse((show / "episodes" / "feed.xml").read_bytes())
    assert not parsed.bozo
    return {e.id for e in parsed.entries}


def assert_site_valid(show: Path, guids: set[str]) -> None:
    """The feed parses, lists exactly ``guids``, and every listed file is whole."""
    assert feed_guids(show) == guids
    parsed = feedparser.parse((show / "episodes" / "feed.xml").read_bytes())
    for entry in parsed.entries:
        slug, name = entry.enclosures[0].href.rsplit("/", 2)[-2:]
        audio = show / "episodes" / slug / name
        assert audio.stat().st_size == int(entry.enclosures[0].length)
        record = json.loads((audio.parent / "episode.json").read_text(encoding="utf-8"))
        assert record["guid"] == entry.id


def producer_files(show: Path) -> dict[str, bytes]:
    files = {"show.toml": (show / "show.toml").read_bytes()}
    for folder in PRODUCER_FOLDERS:
        files.update({f"{folder}/{k}": v for k, v in tree_snapshot(show / folder).items()})
    return files


@pytest.fixture
def published(tmp_path: Path, built_show: Path) -> Path:
    """A show with both examples published and their speech cached."""
    show = copy_show(tmp_path / "show")
    shutil.copytree(built_show / ".duopod", show / ".duopod")
    shutil.copytree(built_show / "episodes", show / "episodes")
    return show


def third_script(show: Path) -> str:
    text = (show / "scripts" / ENGLISH).read_text(encoding="utf-8")
    text = text.replace("title: Why Open-Weight Models Keep Getting Cheaper",
                        "title: Open Models, Part Two").replace("2025-12-12", "2025-12-14")
    text = text.replace("See you next time.", "See you on Sunday.")
    (show / "scripts" / "part-two.md").write_text(text, encoding="utf-8")
    return "scripts/part-two.md"


def start_build(show: Path, *scripts: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "duopod", "build", *scripts, "--engine",
                             "espeak"], cwd=show, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# ---------------------------------------------------------------- kills and interrupts


@pytest.mark.parametrize("after", [0.8, 1.6, 2.4, 3.2])
def test_sigkill_at_any_point_leaves_the_previous_site(published: Path, after: float) -> None:
    before = feed_guids(published)
    script = third_script(published)
    process = start_build(published, script)
    time.sleep(after)
    process.kill()
    process.wait()
    guids = feed_guids(published)
    if guids != before:  # the kill came after the swap: the new episode landed whole
        assert len(guids - before) == 1
    assert_site_valid(published, guids)
    result = run_cli(published, "build", script, "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    assert len(feed_guids(published)) == len(before) + 1
    assert not [p for p in (published / "episodes").iterdir() if p.name.startswith(".")]


def wait_until(condition: Callable[[], bool], process: subprocess.Popen, what: str,
               limit: float = 300) -> None:
    """Until ``condition()`` holds (checked every 50 ms), the build still running: a real
    event rather than a guess at how long the machine takes to get there."""
    deadline = time.monotonic() + limit
    while not condition():
        assert process.poll() is None, f"the build ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {limit:g} s"
        time.sleep(0.05)


def test_ctrl_c_exits_cleanly_with_130(published: Path) -> None:
    before = feed_guids(published)
    speech = published / ".duopod" / "cache" / "speech"
    shutil.rmtree(speech)  # a cold build: every turn to speak, landing far off
    process = start_build(published, third_script(published))
    wait_until(lambda: any(speech.rglob("*.json")), process, "a turn was spoken")
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=300)  # a guard against a hang
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert_site_valid(published, before)


# ---------------------------------------------------------------- concurrency


def test_two_builds_of_different_scripts_both_land(published: Path) -> None:
    before = feed_guids(published)
    producer = producer_files(published)
    other = published / "scripts" / "part-three.md"
    third = third_script(published)
    other.write_text((published / third).read_text(encoding="utf-8").replace(
        "Open Models, Part Two", "Open Models, Part Three").replace("2025-12-14", "2025-12-15"),
        encoding="utf-8")
    producer = producer_files(published)
    first, second = start_build(published, third), start_build(published, "scripts/part-three.md")
    for process in (first, second):
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    guids = feed_guids(published)
    assert len(guids) == len(before) + 2
    assert_site_valid(published, guids)
    assert producer_files(published) == producer  # nothing a producer wrote was touched


def test_a_second_build_of_the_same_script_refuses(published: Path) -> None:
    script = f"scripts/{MANDARIN}"
    (published / ".duopod").rename(published / ".duopod-old")  # a cold, slow build
    first = start_build(published, script)
    wait_until(lambda: any(lock.read_text() == str(first.pid) for lock in
                           (published / ".duopod").rglob("script-*.lock")),
               first, "the first build held its script's lock")
    second = run_cli(published, "build", script, "--engine", "espeak")
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 1
    assert "another duopod build is working on" in second.stderr


# ---------------------------------------------------------------- failures of the disk and tools


def test_a_full_disk_while_publishing_leaves_the_site(published: Path, monkeypatch) -> None:
    before = tree_snapshot(published / "episodes")

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("duopod.publish.write_episode_files", disk_full)
    with pytest.raises(OSError, match="No space left"):
        build_episode(load_workspace(published), published / third_script(published),
                      BuildOptions(engine="espeak"))
    assert tree_snapshot(published / "episodes") == before


def test_an_encoder_failure_leaves_the_site(published: Path, monkeypatch) -> None:
    before = tree_snapshot(published / "episodes")
    monkeypatch.setattr("duopod.mix.encode.ffmpeg_exe", lambda: "/bin/false")
    with pytest.raises(DuopodError):
        build_episode(load_workspace(published), published / third_script(published),
                      BuildOptions(engine="espeak"))
    assert tree_snapshot(published / "episodes") == before


def test_a_corrupt_cache_entry_is_rendered_again(published: Path) -> None:
    pcm = sorted((published / ".duopod" / "cache" / "speech").rglob("*.pcm"))[0]
    data = bytearray(pcm.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pcm.write_bytes(bytes(data))
    results = [build_episode(load_workspace(published), published / "scripts" / name,
                             BuildOptions(engine="espeak")) for name in (MANDARIN, ENGLISH)]
    assert sum(r.rendered for r in results) == 1


def test_a_truncated_cache_entry_is_not_trusted(published: Path) -> None:
    pcm = sorted((published / ".duopod" / "cache" / "speech").rglob("*.pcm"))[-1]
    pcm.write_bytes(pcm.read_bytes()[:1000])
    results = [build_episode(load_workspace(published), published / "scripts" / name,
                             BuildOptions(engine="espeak")) for name in (MANDARIN, ENGLISH)]
    assert sum(r.rendered for r in results) == 1


# ---------------------------------------------------------------- hostile and broken input


def test_a_5mb_script_is_checked_quickly(show: Path) -> None:
    turn = "雷总\n" + "这是一段很长的测试文字，用来检查解析器的速度。" * 10 + "\n董小姐\n好的。\n"
    text = "---\ntitle: 大文件\ndate: 2025-12-20\n---\n" + turn * (5_000_000 // len(turn.encode()))
    path = show / "scripts" / "big.md"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size > 4_900_000
    started = time.perf_counter()
    script = parse_script(path, workspace=show, known_hosts=("雷总", "董小姐"))
    assert time.perf_counter() - started < 20
    assert len(script.turns) > 10_000


@pytest.mark.slow
def test_a_20000_character_turn_is_split_not_failed() -> None:
    turn = ("这是一个非常长的回合，没有几个句号" * 1200)[:20_000]
    speech = EspeakEngine().render_sync(split_sentences(turn), EspeakSettings("cmn"))
    assert speech.duration > 600  # over ten minutes of speech
    assert np.sqrt(np.mean(speech.samples[: 44100 * 60] ** 2)) > 0.02


def test_control_characters_are_refused_at_their_line_and_lone_surrogates_too(
        tmp_path: Path) -> None:
    """Issue 39: a control character is not text (no voice says it, and dropping it
    silently hid what the scraper lost); invisible format marks are still taken out."""
    path = tmp_path / "ep.md"
    path.write_text("---\ntitle: title\ndate: 2025-12-10\n---\n雷总\n你\x08好\x1b。\n董小姐\n好\u200b。\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as caught:
        parse_script(path, workspace=tmp_path, known_hosts=("雷总", "董小姐"))
    assert caught.value.line == 6 and "control character (U+0008)" in caught.value.message
    path.write_text("---\ntitle: title\ndate: 2025-12-10\n---\n雷总\n你好。\n董小姐\n好\u200b。\n",
                    encoding="utf-8")
    script = parse_script(path, workspace=tmp_path, known_hosts=("雷总", "董小姐"))
    assert [t.text for t in script.turns] == ["你好。", "好。"]
    path.write_bytes(path.read_bytes().replace("你".encode(), b"\x00"))
    with pytest.raises(InputError, match="binary file"):
        parse_script(path, workspace=tmp_path)
    path.write_bytes(b"---\ntitle: t\ndate: 2025-12-10\n---\n\xe9\x9b\xb7\xe6\x80\xbb\n\xed\xa0\x80\n")
    with pytest.raises(InputError) as caught:
        parse_script(path, workspace=tmp_path)
    assert "not UTF-8" in caught.value.message and caught.value.line == 6


def test_right_to_left_and_emoji_text(show: Path) -> None:
    path = show / "scripts" / "rtl.md"
    path.write_text("---\ntitle: مرحبا 🎙️ 你好\ndate: 2025-12-10\n---\n雷总\nمرحبا بالعالم 🎉 你好。\n"
                    "董小姐\n\u202eevil\u202c 好。\n", encoding="utf-8")
    script = parse_script(path, workspace=show, known_hosts=("雷总", "董小姐"))
    assert script.meta.slug.isascii() and script.meta.slug.startswith("2025-12-10-")
    assert "🎉" in script.turns[0].text
    assert "\u202e" not in script.turns[1].text  # bidi overrides cannot hide text


def test_hostile_host_names_are_escaped(published: Path) -> None:
    (published / "voices" / "evil.toml").write_text(
        'speaker = "<u>A&B</u>"\n[espeak]\nvoice = "en-us"\n', encoding="utf-8")
    (published / "scripts" / "evil.md").write_text(
        '---\ntitle: Evil hosts\ndate: 2025-12-21\nhosts: ["<u>A&B</u>", Sam]\n'
        'language: en-US\n---\n'
        "<u>A&B</u>\nHello there.\nSam\nHi.\n", encoding="utf-8")
    result = run_cli(published, "build", "scripts/evil.md", "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    folder = published / "episodes" / "2025-12-21-evil-hosts"
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "<u>A&B</u>" not in page and "&lt;u&gt;A&amp;B&lt;/u&gt;" in page
    assert "<v &lt;u&gt;A&amp;B&lt;/u&gt;>" in (folder / "transcript.vtt").read_text()
    feed = feedparser.parse((published / "episodes" / "feed.xml").read_bytes())
    assert not feed.bozo
    people = (published / "episodes" / "feed.xml").read_text(encoding="utf-8")
    assert "<podcast:person role=\"host\">&lt;u&gt;A&amp;B&lt;/u&gt;</podcast:person>" in people


@pytest.mark.parametrize(("change", "words"), [
    (lambda t: t.replace('title = "芯闻两人谈"\n', ""), "missing required field 'title'"),
    (lambda t: t.replace("explicit = false", 'explicit = "no"'), "field 'explicit' has the wrong type"),
    (lambda t: t.replace('category = "News"', 'category = "Tech"'), "field 'category': 'Tech' is not an Apple"),
    (lambda t: t.replace("gap = 0.45", "gap = -1"), "field 'audio.gap' must be a number from 0 to 5, not -1"),
    (lambda t: t.replace('base_url = "https://podcast.example.com"', 'base_url = "ftp://x"'), "field 'base_url'"),
    (lambda t: "colour = 1\n" + t, "unknown field 'colour'"),
])
def test_show_toml_errors_name_the_field(show: Path, change, words: str) -> None:
    toml = show / "show.toml"
    toml.write_text(change(toml.read_text(encoding="utf-8")), encoding="utf-8")
    result = run_cli(show, "check", f"scripts/{ENGLISH}")
    assert result.returncode == 2
    assert words in result.stderr and "show.toml" in result.stderr


@pytest.mark.parametrize(("image", "words"), [
    (b"not an image at all", "not a valid PNG or JPEG"),
    ("small", "is 1000x1000 PNG"),
    ("oblong", "is 1400x1500 PNG"),
])
def test_cover_art_is_checked(show: Path, image, words: str) -> None:
    import zlib

    if isinstance(image, bytes):
        data = image
    else:
        width, height = (1000, 1000) if image == "small" else (1400, 1500)
        import struct

        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        data = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header
                + struct.pack(">I", zlib.crc32(b"IHDR" + header)))
    (show / "art" / "cover.png").write_bytes(data)
    result = run_cli(show, "check", f"scripts/{ENGLISH}")
    assert result.returncode == 2
    assert words in result.stderr and "field 'cover'" in result.stderr


def test_a_template_syntax_error_names_template_and_line(published: Path) -> None:
    from duopod.site.templates import theme_dir

    template = published / "templates" / "episode.html"  # the show's own, overriding
    template.parent.mkdir(exist_ok=True)
    lines = (theme_dir() / "episode.html").read_text(encoding="utf-8").splitlines()
    lines[9] += " {% if %}"
    template.write_text("\n".join(lines), encoding="utf-8")
    before = tree_snapshot(published / "episodes")
    result = run_cli(published, "build", third_script(published), "--engine", "espeak")
    assert result.returncode == 2
    assert "templates/episode.html:10: template error" in result.stderr
    assert tree_snapshot(published / "episodes") == before


# ---------------------------------------------------------------- fuzzing the parser

_LINES = st.sampled_from([
    "---", "title: 测试", "date: 2025-12-10", "date: 2025-99-99", "hosts: [雷总, 董小姐]",
    "hosts: 雷总", "slug: ok-slug", "slug: ../x", "source:", "  file: ../../etc/passwd",
    "雷总", "董小姐", "雷总: 你好。", "董小姐：好的?", "## 背景", "#", "", "   ", "\t",
    "正文,没有句号", "Hello, world!", "- [", "{", "!!python/object:os.system", "\ufeff",
    "title: [", "王总", "\u3000", "\x00", "::", "雷总:", "董小姐：",
])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(_LINES, st.text(max_size=30)), max_size=25),
       newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_fuzz_any_text_parses_or_fails_with_our_error(tmp_path: Path, lines: list[str],
                                                      newline: str) -> None:
    path = tmp_path / "fuzz.md"
    try:
        path.write_bytes(newline.join(lines).encode("utf-8", errors="surrogatepass"))
    except UnicodeEncodeError:
        return
    try:
        script = parse_script(path, workspace=tmp_path, known_hosts=("雷总", "董小姐"))
    except InputError as error:
        assert error.path == path
        assert error.line is None or error.line >= 1
        return
    assert script.turns and script.meta.title and script.meta.slug.isascii()
    assert all(t.text.strip() for t in script.turns)
