"""Text from a script reaches players and other hosts inert: transcripts and show notes
(issue 11, defects 6 and 7), checked with the parsers those consumers use."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from duopod.mix.timeline import Chapter, Timeline, TimelineTurn
from duopod.site.transcripts import to_srt, to_vtt
from duopod.speech.model import SentenceSpan

HOSTILE = [
    '<font color="#ff0000">red</font> and <i>italic</i> <b>bold</b>',
    r"{\an8}on top {\pos(10,10)} and a\Nbreak",
    "x < 5 --> y > 3 & 「引号」“quotes” 'single'",
]


def timeline(texts: list[str], speaker: str = "雷总") -> Timeline:
    turns = tuple(
        TimelineTurn(i, speaker, text, None, i * 2.0, i * 2.0 + 1.5,
                     (SentenceSpan(text, i * 2.0, i * 2.0 + 1.5),))
        for i, text in enumerate(texts)
    )
    return Timeline(turns, (Chapter("开场", 0.0, len(texts) * 2.0),), len(texts) * 2.0)


def ffmpeg_as_ass(srt: str, folder: Path) -> str:
    """The subtitles as ffmpeg's SRT decoder (the one mpv, VLC-like and web players share
    the rules of) turns them into styled ASS events."""
    source, target = folder / "in.srt", folder / "out.ass"
    source.write_text(srt, encoding="utf-8")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source),
                    str(target)], check=True, capture_output=True, timeout=60)
    return target.read_text(encoding="utf-8")


def test_srt_markup_from_the_script_is_shown_not_obeyed(tmp_path: Path) -> None:
    srt = to_srt(timeline(HOSTILE, speaker="<i>雷总</i>"))
    for raw in ("<font", "<i>", "<b>", "{\\", "\\N", "-->  y"):
        assert raw not in srt
    assert srt.count(" --> ") == len(HOSTILE)  # only the timing lines
    events = [line for line in ffmpeg_as_ass(srt, tmp_path).splitlines()
              if line.startswith("Dialogue:")]
    assert len(events) == len(HOSTILE)
    assert not any("{\\" in event for event in events), events  # no styling or position
    assert "red" in events[0] and "italic" in events[0] and "「引号」“quotes” 'single'" in events[2]


def test_srt_keeps_ordinary_text_as_written() -> None:
    srt = to_srt(timeline(["你好，世界！It's “fine” — 100% (really).", "Plain & simple."]))
    assert "雷总: 你好，世界！It's “fine” — 100% (really)." in srt
    assert "雷总: Plain & simple." in srt


@pytest.mark.parametrize("text", HOSTILE)
def test_vtt_still_escapes_markup(text: str) -> None:
    vtt = to_vtt(timeline([text]))
    body = vtt.split("<v 雷总>", 1)[1]
    assert "<" not in body and ">" not in body.replace("&gt;", "")


# ---------------------------------------------------------------- notes.md

ATTACKS = [
    "[click](javascript:alert(1))",
    "![pixel](https://tracker.example/p.gif)",
    '<img src="https://tracker.example/q.gif">',
    "<script>alert(2)</script>",
    "<https://autolink.example>",
    "&#60;img src=x&#62; &lt;b&gt;",
    "[ref]: javascript:alert(3)",
    "*emph* __strong__ `code` ~~strike~~ | a | b |",
]


def hostile_record(url: str | None) -> dict:
    """An episode record whose every printed field carries an attack."""
    chapters = [{"title": text, "start": i * 60.0, "end": i * 60.0 + 60} for i, text in
                enumerate(["# 开场 “引号”", "1. 第一章", *ATTACKS])]
    return {
        "title": "芯片之争 <b>“H200”</b> [x](javascript:alert(0))",
        "date": "2025-12-10", "category": "News", "duration": 754.0,
        "hosts": ["雷总", "董小姐"],
        "summary": "一句摘要。\n# not a heading\n---\n> not a quote\n" + "\n".join(ATTACKS),
        "notes": {"key_points": [*ATTACKS, "It's “fine”, 对吧？"],
                  "keywords": ["H200", "[k](javascript:k)", "英伟达"]},
        "timeline": {"chapters": chapters},
        "source": {"title": "Reuters: ‘chips’ [report]", "url": url,
                   "provider": "![p](https://tracker.example/x.png)",
                   "author": "<i>A. Writer</i>", "date": "2025-12-09"},
    }


def render_notes(show: Path, record: dict) -> str:
    from duopod.show.workspace import load_workspace
    from duopod.site.render import render_template

    workspace = load_workspace(show)
    return render_template(workspace, "notes.md", show=workspace.show, episode=record)


def as_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(markdown)


def links(html: str) -> list[str]:
    import re

    return re.findall(r'<a href="([^"]*)"', html)


def test_notes_md_renders_no_live_link_image_or_html(show: Path) -> None:
    html = as_html(render_notes(show, hostile_record("https://example.com/news?id=1")))
    assert "javascript:" not in "".join(links(html))
    assert links(html) == ["https://example.com/news?id=1"]
    assert "<img" not in html and "<script" not in html and "<b>" not in html
    assert "<i>" not in html and "<code>" not in html and "<em>" not in html
    assert html.count("<strong>") == 1  # the template's own "Keywords:"
    assert "<s>" not in html and "<table>" not in html
    assert html.count("<h1>") == 1 and "<blockquote>" not in html and "<hr" not in html
    assert html.count("<ol") == 0


def test_notes_md_still_reads_as_written(show: Path) -> None:
    html = as_html(render_notes(show, hostile_record("https://example.com/a")))
    text = __import__("html").unescape(html)
    assert "芯片之争 <b>“H200”</b> [x](javascript:alert(0))" in text
    assert "It's “fine”, 对吧？" in text and "# 开场 “引号”" in text and "1. 第一章" in text
    for attack in ATTACKS:
        assert attack in text or attack.replace("&#60;", "<").replace("&#62;", ">") in text
    assert "[Reuters: ‘chips’ [report]](" not in text and "Reuters: ‘chips’ [report]" in text


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JAVASCRIPT://example.com/%0aalert(1)", "data:text/html,<b>",
    "https://example.com@evil.example/", "http:/example.com", "https://exa mple.com/",
    "ftp://example.com/file",
])
def test_notes_md_links_only_plain_http_addresses(show: Path, url: str) -> None:
    html = as_html(render_notes(show, hostile_record(url)))
    assert links(html) == [] and "Reuters: ‘chips’ [report]" in __import__("html").unescape(html)


@pytest.mark.parametrize(("url", "href"), [
    ("https://example.com/a)![x](https://t.example/p.gif)",
     "https://example.com/a%29!%5Bx%5D%28https://t.example/p.gif%29"),
    ('https://example.com/"><script>', "https://example.com/%22%3E%3Cscript%3E"),
    ("http://example.com:8080/path_(x)?q=a&b=c#frag",
     "http://example.com:8080/path_%28x%29?q=a&amp;b=c#frag"),
])
def test_notes_md_source_url_cannot_break_out_of_its_link(show: Path, url: str, href: str
                                                          ) -> None:
    html = as_html(render_notes(show, hostile_record(url)))
    assert links(html) == [href] and "<img" not in html and "<script" not in html


def test_notes_md_escapes_once_and_keeps_a_plain_ampersand() -> None:
    from duopod.site.markdown import markdown_text

    assert markdown_text("雷总 & 董小姐") == "雷总 & 董小姐"  # '&' alone is text: kept
    assert markdown_text("&amp; <b>") == "&amp;amp; &lt;b&gt;"
