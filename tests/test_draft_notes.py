"""Written show notes: a headline, byline and sections from the stand-in server, grounded,
cached, and rendered by publish's templates with what kind of notes they are."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from chat_server import ChatServer
from markdown_it import MarkdownIt

from duopod.draft import ChatOptions, get_chat_engine
from duopod.draft.notes import with_written, write_notes
from duopod.draft.settings import WriterSettings
from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace
from duopod.site.templates import render_template
from duopod.text.notes import ShowNotes
from duopod.text.written import WrittenSummary


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    stand_in = ChatServer().start()
    yield stand_in
    stand_in.stop()


def notes_for(show: Path, chat: ChatServer, language: str = "zh-CN"):
    ws = load_workspace(show)
    script = parse_script(show / "scripts" / "2025-12-10-h200.md", workspace=show)
    engine = get_chat_engine(WriterSettings(base_url=chat.url, model="stand-in"),
                             ChatOptions(cache_dir=ws.cache_dir))
    return ws, script, write_notes(ws, script, engine, language)


def test_written_notes_are_grounded_with_the_sources_byline(show: Path, chat: ChatServer
                                                            ) -> None:
    ungrounded = "H100卖了9999台。"

    def answer(payload: dict, schema: dict | None) -> str:
        return json.dumps({"headline": "美方允许英伟达向中国出售H200芯片", "sections": [
            {"heading": "背景", "points": ["美方允许英伟达向经批准的中国客户出售H200芯片。",
                                         ungrounded]}]}, ensure_ascii=False)

    chat.knobs.answer = answer
    _ws, _script, written = notes_for(show, chat)
    summary = written.summary
    assert summary.headline == "美方允许英伟达向中国出售H200芯片"
    assert summary.sections == (("背景", ("美方允许英伟达向经批准的中国客户出售H200芯片。",)),)
    assert written.dropped == (ungrounded,)
    assert summary.author == "编辑部" and summary.date == "2025-12-10"
    assert summary.model == "stand-in"
    calls = len(chat.calls)
    notes_for(show, chat)
    assert len(chat.calls) == calls  # the rerun is answered from the cache
    assert WrittenSummary.from_json(json.loads(json.dumps(summary.to_json()))) == summary


def test_publish_renders_written_notes_and_says_which_kind(show: Path) -> None:
    ws = load_workspace(show)
    summary = WrittenSummary("PLA sought <Nvidia> chips", (
        ("Background", ("Point *one*", "Point two")), ("Impact", ("Point three",))),
        "en", author="Reuters", date="2025-08-04", model="qwen2.5")
    notes = with_written(ShowNotes(None, ["一句要点。"], ["芯片"]), SimpleNamespace(
        summary=summary))  # type: ignore[arg-type]
    episode = SimpleNamespace(
        title="t", date="2025-12-10", category=None, duration=60.0, hosts=["雷总", "董小姐"],
        summary=None, notes=notes, timeline=SimpleNamespace(chapters=[]), source=None,
        language="zh-CN")
    md = render_template(ws, "notes.md", show=ws.show, episode=episode)
    assert "### Background" in md and "* Point \\*one\\*" in md
    assert "由语言模型 qwen2.5 根据原文撰写" in md and "自动提取" in md
    tokens = [t.type for t in MarkdownIt().parse(md)]
    assert tokens.count("bullet_list_open") >= 3
    html = render_template(ws, "notes.html", show=ws.show, episode=episode)
    assert "PLA sought &lt;Nvidia&gt; chips" in html and "Reuters · 2025-08-04" in html
    plain = with_written(ShowNotes(None, ["一句要点。"], []), None)
    bare = render_template(ws, "notes.html", show=ws.show, episode=SimpleNamespace(
        **{**episode.__dict__, "notes": plain}))
    assert "语言模型" not in bare and "自动提取" in bare


@pytest.mark.slow
def test_a_build_with_written_notes_publishes_them(show: Path, chat: ChatServer) -> None:
    """[writer] notes = "written": the build asks the model (through its cache), the page
    carries the written summary beside the extractive notes, and episode.json keeps it."""
    import re

    from conftest import run_cli

    def answer(payload: dict, schema: dict | None) -> str:
        return json.dumps({"headline": "美方允许英伟达向中国出售H200芯片", "sections": [
            {"heading": "背景", "points": ["美方允许英伟达向经批准的中国客户出售H200芯片。"]}]},
            ensure_ascii=False)

    chat.knobs.answer = answer
    toml = show / "show.toml"
    text = re.sub(r'base_url = "http://127\.0\.0\.1:8080/v1"[^\n]*',
                  f'base_url = "{chat.url}"', toml.read_text("utf-8"))
    toml.write_text(text.replace('notes_language = "en"', 'notes_language = "zh-CN"\n'
                                 'notes = "written"'), "utf-8")
    result = run_cli(show, "build", "scripts/2025-12-10-h200.md", "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    folder = next((show / "episodes").glob("2025-12-10-*"))
    record = json.loads((folder / "episode.json").read_text("utf-8"))
    assert record["notes"]["written"]["headline"] == "美方允许英伟达向中国出售H200芯片"
    page = (folder / "index.html").read_text("utf-8")
    assert "美方允许英伟达向经批准的中国客户出售H200芯片。" in page
    assert chat.calls, "the build never asked the model"
