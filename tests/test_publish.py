"""Publishing, checked by the consumers: feed parsers, a real podcast client, a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import podcastparser
import pytest
from conftest import ENGLISH, REPO, copy_show, run_cli
from test_build import episode_dir, record

from duopod.serve import in_background, usable_range
from duopod.show.workspace import load_workspace
from duopod.site.feed import NAMESPACES, PODCAST_GUID_NAMESPACE
from duopod.text.notes import clean_article

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def site(built_show: Path) -> Path:
    return built_show


@pytest.fixture(scope="module")
def preview(site: Path) -> Iterator[str]:
    with in_background(load_workspace(site)) as server:
        yield server.url


# ---------------------------------------------------------------- the feed


def test_feed_channel_fields(site: Path) -> None:
    root = ET.parse(site / "episodes" / "feed.xml").getroot()
    channel = root.find("channel")
    it, pc = NAMESPACES["itunes"], NAMESPACES["podcast"]
    assert channel.find(f"{{{it}}}explicit").text == "false"
    assert channel.find(f"{{{it}}}type").text == "episodic"
    category = channel.find(f"{{{it}}}category")
    assert category.get("text") == "News"
    assert category.find(f"{{{it}}}category").get("text") == "Tech News"
    assert re.fullmatch(r"https://podcast\.example\.com/cover-[0-9a-f]{10}\.png",
                        channel.find(f"{{{it}}}image").get("href"))
    assert channel.find(f"{{{NAMESPACES['atom']}}}link").get("rel") == "self"
    expected = uuid.uuid5(PODCAST_GUID_NAMESPACE, "podcast.example.com/feed.xml")
    assert channel.find(f"{{{pc}}}guid").text == str(expected)
    persons = [p.text for p in channel.findall(f"{{{pc}}}person")]
    assert set(persons) == {"雷总", "董小姐", "Alex", "Sam"}


def test_feedparser_reads_everything(site: Path) -> None:
    parsed = feedparser.parse((site / "episodes" / "feed.xml").read_bytes())
    assert not parsed.bozo
    entry = parsed.entries[1]
    assert entry.title == "芯片出口新规下的算力之争"
    assert entry.itunes_duration == str(round(record(episode_dir(site, "2025-12-10"))["duration"]))
    assert "<li>" in entry.content[0].value  # the show notes as HTML
    assert entry.published_parsed[:3] == (2025, 12, 10)


def test_podcastparser_reads_guid_enclosure_duration(site: Path, monkeypatch) -> None:
    # gPodder's parser knows the podcast namespace only under its old GitHub address
    monkeypatch.setitem(podcastparser.Namespace.NAMESPACES, NAMESPACES["podcast"], "podcast")
    with (site / "episodes" / "feed.xml").open("rb") as handle:
        parsed = podcastparser.parse("https://podcast.example.com/feed.xml", handle)
    assert parsed["title"] == "芯闻两人谈"
    assert len(parsed["episodes"]) == 2
    for episode in parsed["episodes"]:
        folder = episode_dir(site, episode["link"].rstrip("/").rsplit("/", 1)[-1])
        data = record(folder)
        assert episode["guid"] == data["guid"]
        assert episode["total_time"] == round(data["duration"])
        (enclosure,) = episode["enclosures"]
        assert enclosure["file_size"] == (folder / data["audio"]["file"]).stat().st_size
        assert enclosure["mime_type"] == "audio/mpeg"
        # the podcast namespace tags, which only resolve with the canonical URL registered
        assert episode["transcript_url"].startswith(f"https://podcast.example.com/{folder.name}/")
        assert episode["chapters_json_url"].endswith(f"{folder.name}/chapters.json")
        assert episode["number"] == data["episode"]


def test_transcripts_and_chapters_formats(site: Path) -> None:
    folder = episode_dir(site, "2025-12-10")
    data = json.loads((folder / "transcript.json").read_text(encoding="utf-8"))
    assert data["version"] == "1.0.0"
    first = data["segments"][0]
    assert set(first) == {"speaker", "startTime", "endTime", "body"}
    assert first["speaker"] == "雷总"
    srt = (folder / "transcript.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:") and "雷总: " in srt and " --> " in srt
    chapters = json.loads((folder / "chapters.json").read_text(encoding="utf-8"))
    assert chapters["version"] == "1.2.0"
    assert [c["title"] for c in chapters["chapters"]][1] == "新规说了什么"
    notes = (folder / "notes.md").read_text(encoding="utf-8")
    assert notes.startswith("# 芯片出口新规下的算力之争") and "## 本期要点" in notes


def test_show_notes_have_key_points_and_keywords(site: Path) -> None:
    notes = record(episode_dir(site, "2025-12-10"))["notes"]
    assert len(notes["key_points"]) >= 3
    assert {"H200", "英伟达", "芯片"} <= set(notes["keywords"])
    assert "雷总" not in notes["keywords"]
    english = record(episode_dir(site, "2025-12-12"))["notes"]
    assert {"parameters", "model"} & {k.lower() for k in english["keywords"]}


def test_guid_survives_rebuild_and_retitle(tmp_path: Path, built_show: Path) -> None:
    show = copy_show(tmp_path / "show")
    shutil.copytree(built_show / ".duopod", show / ".duopod")
    assert run_cli(show, "build", f"scripts/{ENGLISH}", "--engine", "espeak").returncode == 0
    first = record(episode_dir(show, "2025-12-12"))
    script = show / "scripts" / ENGLISH
    script.write_text(script.read_text(encoding="utf-8").replace(
        "title: Why Open-Weight Models Keep Getting Cheaper", "title: Cheaper Open Models"),
        encoding="utf-8")
    result = run_cli(show, "build", f"scripts/{ENGLISH}", "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    again = record(episode_dir(show, "2025-12-12"))
    assert again["title"] == "Cheaper Open Models"
    assert (again["guid"], again["slug"], again["episode"]) == (
        first["guid"], first["slug"], first["episode"])
    feed = feedparser.parse((show / "episodes" / "feed.xml").read_bytes())
    assert [e.id for e in feed.entries] == [first["guid"]]


def test_a_new_slug_moves_the_episode_and_keeps_its_guid(tmp_path: Path, built_show: Path
                                                         ) -> None:
    show = copy_show(tmp_path / "show")
    shutil.copytree(built_show / ".duopod", show / ".duopod")
    assert run_cli(show, "build", f"scripts/{ENGLISH}", "--engine", "espeak").returncode == 0
    guid = record(episode_dir(show, "2025-12-12"))["guid"]
    script = show / "scripts" / ENGLISH
    script.write_text(script.read_text(encoding="utf-8").replace(
        "date: 2025-12-12", "date: 2025-12-12\nslug: open-models"), encoding="utf-8")
    assert run_cli(show, "build", f"scripts/{ENGLISH}", "--engine", "espeak").returncode == 0
    folders = sorted(p.name for p in (show / "episodes").iterdir() if p.is_dir())
    assert folders == ["open-models"]
    assert record(show / "episodes" / "open-models")["guid"] == guid


def test_another_script_cannot_take_a_published_slug(tmp_path: Path, built_show: Path) -> None:
    show = copy_show(tmp_path / "show")
    shutil.copytree(built_show / ".duopod", show / ".duopod")
    assert run_cli(show, "build", f"scripts/{ENGLISH}", "--engine", "espeak").returncode == 0
    slug = record(episode_dir(show, "2025-12-12"))["slug"]
    twin = show / "scripts" / "twin.md"
    twin.write_text((show / "scripts" / ENGLISH).read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli(show, "build", "scripts/twin.md", "--engine", "espeak")
    assert result.returncode == 2
    assert f"slug {slug!r} already belongs to the episode built from scripts/{ENGLISH}" in (
        result.stderr)


def test_feed_command_rebuilds_only_the_feed(tmp_path: Path, built_show: Path) -> None:
    show = copy_show(tmp_path / "show")
    shutil.copytree(built_show / "episodes", show / "episodes")
    (show / "episodes" / "feed.xml").unlink()
    page = (show / "episodes" / "index.html").stat().st_mtime_ns
    result = run_cli(show, "feed")
    assert result.returncode == 0, result.stderr
    assert not feedparser.parse((show / "episodes" / "feed.xml").read_bytes()).bozo
    assert (show / "episodes" / "index.html").stat().st_mtime_ns == page


# ---------------------------------------------------------------- hostile text


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs


HOSTILE = """---
title: "<svg onload=alert('t')> & \\"quotes\\" ]]>"
date: 2025-12-20
slug: hostile-test
summary: "<u>bold</u> & <iframe src=x onload=alert(1)> ]]>"
hosts: ["雷总", "董小姐"]
source:
  title: "<svg onload=alert('s')>"
  provider: "A & B <s>Wire</s>"
  url: "https://example.com/a?x=1&y='2'"
  file: sources/hostile.txt
---
## <svg onload=alert('chapter')>
雷总
<svg onload=alert('text')> 你好 & "再见" ]]>。
董小姐
<iframe src=x onload=alert(2)> 好。
"""


def test_hostile_text_is_escaped_everywhere(tmp_path: Path, built_show: Path) -> None:
    show = copy_show(tmp_path / "show")
    shutil.copytree(built_show / ".duopod", show / ".duopod")
    (show / "scripts" / "sources").mkdir(exist_ok=True)
    (show / "scripts" / "sources" / "hostile.txt").write_text(
        "<script>alert('article')</script>\n正文 & ]]> “引号”", encoding="utf-8")
    (show / "scripts" / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    result = run_cli(show, "build", "scripts/hostile.md", "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    folder = show / "episodes" / "hostile-test"
    page = (folder / "index.html").read_text(encoding="utf-8")
    elements = _Elements()
    elements.feed(page)
    assert elements.tags.count("script") == 1  # ours, at the end of the page
    assert not {"svg", "iframe", "u", "s"} & set(elements.tags)
    assert not any(name.startswith("on") for name, _value in elements.attributes)
    assert "&lt;svg onload=alert(&#39;text&#39;)&gt;" in page
    feed_bytes = (show / "episodes" / "feed.xml").read_bytes()
    parsed = feedparser.parse(feed_bytes)
    assert not parsed.bozo
    titles = [e.title for e in parsed.entries]
    assert "<svg onload=alert('t')> & \"quotes\" ]]>" in titles
    vtt = (folder / "transcript.vtt").read_text(encoding="utf-8")
    assert "<svg" not in vtt and "&lt;svg" in vtt
    notes = (folder / "notes.md").read_text(encoding="utf-8")
    assert "<svg" not in notes and "<iframe" not in notes
    index = (show / "episodes" / "index.html").read_text(encoding="utf-8")
    assert "<svg" not in index and "<script>" not in index
    from mutagen.id3 import ID3

    assert ID3(folder / "hostile-test.mp3")["TIT2"].text == [
        "<svg onload=alert('t')> & \"quotes\" ]]>"]


def test_a_damaged_pages_markup_in_a_script_is_refused_at_its_line(tmp_path: Path) -> None:
    """A page's own tags (``<script>``, ``<b>``, ``&nbsp;``) in a script are what a scrape
    left behind, not words: the build refuses them at their line and writes nothing (what
    is not refused is escaped: the test above)."""
    show = copy_show(tmp_path / "show")
    (show / "scripts" / "hostile.md").write_text(
        HOSTILE.replace("<svg onload=alert('t')>", "<script>alert('t')</script>"),
        encoding="utf-8")
    result = run_cli(show, "build", "scripts/hostile.md", "--engine", "espeak")
    assert result.returncode == 2
    assert "hostile.md:2: markup '<script>'" in result.stderr
    assert not (show / "episodes" / "hostile-test").exists()


# ---------------------------------------------------------------- source articles

ARTICLE = """12月10日,據(jù)路透社援引四位知情人士的消息報(bào)道稱,英偉達(dá)H200人工智能(AI)芯片可能出口。
黃仁勛表示:“我對(duì)此並不確定?
另一位人士說:“這是真的嗎?”他補(bǔ)充說,需要等待批準(zhǔn)。?br/>第二段在這里。
"""


def test_scraped_article_damage_is_cleaned_conservatively() -> None:
    cleaned = clean_article(ARTICLE)
    lines = cleaned.splitlines()
    assert lines[0] == "12月10日，據路透社援引四位知情人士的消息報道稱，英偉達H200人工智能(AI)芯片可能出口。"
    assert lines[1] == "黃仁勛表示：“我對此並不確定。”"  # the lost closing quote
    assert lines[2] == "另一位人士說：“這是真的嗎？”他補充說，需要等待批準。"  # a real question
    assert lines[3] == "第二段在這里。"
    assert clean_article("The (AI) boom, in 2025: yes?") == "The (AI) boom, in 2025: yes?"


def test_the_producers_source_file_is_never_touched(site: Path) -> None:
    source = site / "scripts" / "sources" / "2025-12-10-h200.txt"
    assert source.read_bytes() == (REPO / "scripts" / "sources" / "2025-12-10-h200.txt").read_bytes()


# ---------------------------------------------------------------- serving


def _get(url: str, method: str = "GET", headers: dict | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serve_answers_head_and_ranges_with_types(site: Path, preview: str) -> None:
    folder = episode_dir(site, "2025-12-10")
    audio = folder / record(folder)["audio"]["file"]
    url = f"{preview}/{folder.name}/{audio.name}"
    size = audio.stat().st_size
    status, headers, body = _get(url, "HEAD")
    assert (status, headers["Content-Type"], int(headers["Content-Length"]), body) == (
        200, "audio/mpeg", size, b"")
    assert headers["Accept-Ranges"] == "bytes"
    status, headers, body = _get(url, headers={"Range": "bytes=100-199"})
    assert status == 206 and headers["Content-Range"] == f"bytes 100-199/{size}"
    assert body == audio.read_bytes()[100:200]
    status, _headers, body = _get(url, headers={"Range": "bytes=-10"})
    assert status == 206 and body == audio.read_bytes()[-10:]
    status, headers, _body = _get(url, headers={"Range": f"bytes={size}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    assert _get(f"{preview}/{folder.name}/transcript.vtt")[1]["Content-Type"].startswith("text/vtt")
    assert _get(f"{preview}/../show.toml")[0] == 404
    assert _get(f"{preview}/.duopod/cache")[0] == 404


def test_serve_points_the_feed_at_the_preview(site: Path, preview: str) -> None:
    status, headers, body = _get(f"{preview}/feed.xml")
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    parsed = feedparser.parse(body)
    assert all(e.enclosures[0].href.startswith(preview) for e in parsed.entries)
    assert b"https://podcast.example.com" not in body
    assert b"https://podcast.example.com" in (site / "episodes" / "feed.xml").read_bytes()


def test_usable_range_keeps_only_one_well_formed_byte_range() -> None:
    for header in ("bytes=0-", "bytes=5-100", "bytes=-3", "bytes=-0", "bytes=10-", " bytes=1-1 "):
        assert usable_range(header) == header.strip()
    for header in ("bytes=3-1", "items=0-1", "bytes=0-0,10-20", "bytes=", "bytes=-",
                   "bytes=a-b", "bytes=１-２", "bytes = 0-1", "bytes=1-2-3", None):
        assert usable_range(header) is None


# ---------------------------------------------------------------- real consumers


@pytest.mark.skipif(shutil.which("gpo") is None, reason="Debian's gpodder (gpo) is not installed")
def test_gpodder_subscribes_and_downloads_identical_files(site: Path, preview: str,
                                                          tmp_path: Path) -> None:
    env = {**os.environ, "GPODDER_HOME": str(tmp_path / "home"),
           "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads")}

    def gpo(*args: str) -> str:
        result = subprocess.run(["gpo", *args], env=env, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    gpo("subscribe", f"{preview}/feed.xml")
    gpo("update")
    listing = gpo("episodes", "--guid")
    for prefix in ("2025-12-10", "2025-12-12"):
        assert record(episode_dir(site, prefix))["guid"] in listing
    gpo("download")
    downloads = {p.name: p for p in (tmp_path / "downloads").rglob("*.mp3")}
    assert len(downloads) == 2
    for prefix in ("2025-12-10", "2025-12-12"):
        folder = episode_dir(site, prefix)
        ours = folder / record(folder)["audio"]["file"]
        assert downloads[ours.name].read_bytes() == ours.read_bytes()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_episode_page_in_headless_chromium(site: Path, preview: str) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    folder = episode_dir(site, "2025-12-10")
    data = record(folder)
    chapter = data["timeline"]["chapters"][2]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 430, "height": 932})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{preview}/{folder.name}/index.html")
            page.wait_for_function("document.getElementById('player').readyState >= 1",
                                   timeout=15000)
            duration = page.evaluate("document.getElementById('player').duration")
            assert abs(duration - data["duration"]) < 0.5
            page.click("ol.chapters li:nth-child(3) button[data-start]")
            page.wait_for_function(
                f"document.getElementById('player').currentTime >= {chapter['start'] - 0.05}",
                timeout=10000)
            position = page.evaluate("document.getElementById('player').currentTime")
            assert chapter["start"] - 0.05 <= position < chapter["start"] + 2.0
            page.evaluate("document.getElementById('player').pause()")
            page.evaluate(f"document.getElementById('player').currentTime = "
                          f"{data['timeline']['turns'][3]['sentences'][0]['start'] + 0.2}")
            page.wait_for_selector(".sentence.current", timeout=5000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "episode-page.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
