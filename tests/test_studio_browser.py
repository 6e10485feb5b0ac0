"""The studio in a real browser: Debian's Chromium driven by Playwright against a studio
on a free loopback port over a copy of the example show, with the espeak engine. What a
producer does: open the show, mistype a host line and see the error at its line, play a
turn, edit one sentence and rebuild (one turn rendered), publish; and what must never
happen: a request without the token beyond loopback, an edit lost to another's save.
Screenshots at desktop and phone widths are looked at (no sideways scroll, real CJK)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import MANDARIN, REPO, copy_show

from duopod.build.options import BuildOptions
from duopod.build.scripts import build_scripts
from duopod.show.workspace import load_workspace
from duopod.studio.app import in_background

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example show (with its lexicon) and its Mandarin episode built once."""
    root = copy_show(tmp_path_factory.mktemp("studio") / "show")
    shutil.copy(REPO / "lexicon.toml", root / "lexicon.toml")
    # on a thread of its own: Playwright's sync API keeps an event loop in this one
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(build_scripts, load_workspace(root), [root / "scripts" / MANDARIN],
                          BuildOptions(engine="espeak"), jobs=1).result()
    assert run.exit_code == 0, run.outcomes
    return root


@pytest.fixture
def show(built: Path, tmp_path: Path) -> Path:
    """A copy of the built show per test (its cache and site too)."""
    root = tmp_path / "show"
    shutil.copytree(built, root, symlinks=True)
    return root


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--autoplay-policy=no-user-gesture-required"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def studio(show: Path) -> Iterator[str]:
    with in_background(show, "127.0.0.1", 0, engine="espeak") as running:
        yield running.url


def _preview_script_refused(message: str) -> bool:
    """The preview of a published page runs none of its scripts (docs/studio.md): the
    browser says so in the console, as it should."""
    return "Content Security Policy directive 'script-src 'none''" in message and \
        "/site/" in message


def new_page(browser: Any, width: int = 1280, height: int = 900, *, bypass_csp: bool = True
             ) -> tuple[Any, list[str]]:
    # bypass_csp: Playwright evaluates its waits as strings, which the pages' policy forbids
    page = browser.new_page(viewport={"width": width, "height": height}, bypass_csp=bypass_csp)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}")
            if m.type == "error" and not _preview_script_refused(f"{m.text} {m.location}")
            else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    return page, errors


def select_line(page: Any, line: int) -> None:
    page.evaluate("""(line) => {
        const text = document.getElementById('text');
        const lines = text.value.split('\\n');
        const start = lines.slice(0, line - 1).join('\\n').length + (line > 1 ? 1 : 0);
        text.focus();
        text.setSelectionRange(start, start + lines[line - 1].length);
    }""", line)


def speech_entries(show: Path) -> set[str]:
    return {p.name for p in (show / ".duopod" / "cache" / "speech").rglob("*.json")}


def open_editor(page: Any, studio: str) -> None:
    page.goto(studio)
    page.click(f'a[href="/edit/{MANDARIN}"]')
    page.wait_for_selector("#outline .turn")


def test_a_producer_edits_hears_rebuilds_and_publishes(browser: Any, studio: str,
                                                       show: Path) -> None:
    script = show / "scripts" / MANDARIN
    lines = script.read_text(encoding="utf-8").split("\n")
    host_line = lines.index("董小姐") + 1
    page, errors = new_page(browser)
    open_editor(page, studio)
    assert page.locator("#state").text_content() == "published"

    # a typo'd host line: the error appears at its line as the producer types
    select_line(page, host_line)
    page.keyboard.type("董小组")
    error = page.wait_for_selector(f'#problems li.problem-error[data-line="{host_line}"]')
    assert "董小组" in error.text_content()
    assert page.locator(f'#backdrop .ln.mark-error[data-n="{host_line}"]').count() == 1
    select_line(page, host_line)
    page.keyboard.type("董小姐")
    page.wait_for_function("!document.querySelector('#problems li.problem-error')")

    # play a turn: real audio in the audio element
    page.click('#outline li.turn[data-turn="0"] .turn-head button.play')
    page.wait_for_function("document.getElementById('player').duration > 0")
    assert page.evaluate("document.getElementById('player').duration") > 0.5
    assert page.locator("#player").get_attribute("data-cached") == "1"  # built: cached

    # edit one sentence, save: one turn to render, said before the build starts
    sentence = "这是三年来美方在高端AI芯片上最大的一次松口。"
    assert sentence in script.read_text(encoding="utf-8")
    line = next(i + 1 for i, text in enumerate(lines) if sentence in text)
    select_line(page, line)
    page.keyboard.type(lines[line - 1].replace("三年来", "四年来"))
    page.click("#save")
    page.wait_for_function("document.getElementById('stale').dataset.count === '1'")
    assert page.locator("#stale").text_content().startswith("1 of ")
    before = speech_entries(show)
    page.click("#build")
    outcome = page.wait_for_selector("#outcome", timeout=120_000)
    assert outcome.get_attribute("data-exit") == "0"
    log = page.locator("#progress").text_content()
    assert "rendering 1 turn(s)" in log and "(1 rendered, 34 cached)" in log, log
    assert "published: in the feed" in log and "exit status 0" in log  # as duopod build
    # the log box ends with its last lines in view, whatever its length
    assert page.evaluate("""() => { const log = document.getElementById('progress');
        return log.scrollHeight > log.clientHeight
            && log.scrollTop + log.clientHeight >= log.scrollHeight - 2; }""")
    assert len(speech_entries(show) - before) == 1  # exactly one turn rendered, on disk
    assert "四年来" in script.read_text(encoding="utf-8")

    # make it a draft: out of the feed; publish: back in it
    page.click('button[data-status="draft"]')
    page.wait_for_function("document.getElementById('text').value.includes('status: draft')")
    page.click("#build")
    page.wait_for_selector("#outcome", timeout=120_000)
    page.wait_for_function("!document.getElementById('feed').textContent.includes('芯片出口')")
    page.click('button[data-status="published"]')
    page.wait_for_function("!document.getElementById('text').value.includes('status: draft')")
    page.click("#build")
    page.wait_for_selector("#outcome", timeout=120_000)
    page.wait_for_function("document.getElementById('feed').textContent.includes('芯片出口')")
    feed = (show / "episodes" / "feed.xml").read_text(encoding="utf-8")
    assert "芯片出口新规下的算力之争" in feed
    # the episode page as listeners see it, in the preview
    frame = page.frame_locator("#preview")
    frame.locator("#player").wait_for(state="attached")
    assert errors == []


def test_a_script_changed_on_disk_while_open_is_reported_not_overwritten(
        browser: Any, studio: str, show: Path) -> None:
    script = show / "scripts" / MANDARIN
    page, errors = new_page(browser)
    open_editor(page, studio)
    theirs = script.read_text(encoding="utf-8").replace("早上好", "晚上好")
    script.write_text(theirs, encoding="utf-8")
    select_line(page, 16)
    page.keyboard.type("雷总")
    page.click("#save")
    banner = page.wait_for_selector("#conflict:not([hidden])")
    assert "changed on disk" in banner.text_content()
    assert script.read_text(encoding="utf-8") == theirs
    assert [e for e in errors if "409" not in e] == []


def test_beyond_loopback_a_request_without_the_token_is_refused(browser: Any,
                                                                show: Path) -> None:
    token = "test-token-5d1c"
    with in_background(show, "0.0.0.0", 0, token=token, engine="espeak") as running:
        url = f"http://127.0.0.1:{running.port}/"
        page, _errors = new_page(browser)
        refused = page.goto(url)
        assert refused is not None and refused.status == 401
        assert "芯闻" not in page.content()
        page.goto(f"{url}?token={token}")
        assert page.url == url  # the token left the address bar for a cookie
        page.wait_for_selector("#episodes")
        page.click(f'a[href="/edit/{MANDARIN}"]')
        page.wait_for_selector("#outline .turn")


CJK_INK = """() => {
    // real glyphs: two different characters draw different ink (missing glyphs draw the
    // same box), and a Chinese character is about one em wide
    const draw = (ch) => {
        const canvas = document.createElement('canvas'); canvas.width = 40; canvas.height = 40;
        const context = canvas.getContext('2d');
        context.font = '32px ' + getComputedStyle(document.body).fontFamily;
        context.fillText(ch, 2, 32);
        return Array.from(context.getImageData(0, 0, 40, 40).data).join(',');
    };
    const span = document.createElement('span'); span.textContent = '芯闻两人谈';
    span.style.fontSize = '20px'; document.body.appendChild(span);
    const width = span.getBoundingClientRect().width; span.remove();
    return {different: draw('芯') !== draw('谈'), inked: draw('芯') !== draw(' '), width};
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_fit_the_screen_and_render_chinese(browser: Any, studio: str, width: int
                                                 ) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # the pages' own Content-Security-Policy in force: nothing of them breaks under it
    page, errors = new_page(browser, width, 844 if width < 800 else 900, bypass_csp=False)
    for name, address in (("episodes", studio), ("editor", f"{studio}edit/{MANDARIN}")):
        page.goto(address)
        if name == "editor":
            page.wait_for_selector("#outline .turn")
        page.evaluate("document.fonts.ready")
        overflow = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert overflow[0] <= overflow[1], (name, overflow)
        ink = page.evaluate(CJK_INK)
        assert ink["different"] and ink["inked"], ink
        assert 5 * 20 * 0.8 <= ink["width"] <= 5 * 20 * 1.2, ink  # five full-width glyphs
        if name == "editor":
            page.click('#outline li.turn[data-turn="0"] .turn-head button.play')
            page.wait_for_selector("#player[data-cached]")
        page.screenshot(path=str(ARTIFACTS / f"studio-{name}-{width}.png"), full_page=True)
    assert errors == []


# --- issue 38: never lose an edit, an editor for Chinese, hear as you go, the episode ---


@contextlib.contextmanager
def studio_process(show: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``duopod studio`` in a process of its own (a SIGKILL stops it as a crash would)."""
    command = subprocess.Popen(
        [sys.executable, "-m", "duopod", "studio", "--port", "0", "--engine", "espeak"],
        cwd=show, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert command.stdout is not None
        line = command.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        assert found, line + (command.stderr.read() if command.stderr else "")
        yield command, found.group(1)
    finally:
        if command.poll() is None:
            command.kill()
        command.wait(30)


def type_at_line(page: Any, line: int, words: str) -> None:
    """Put the cursor at the end of ``line`` and type ``words`` as a producer would."""
    page.evaluate("""(line) => {
        const text = document.getElementById('text');
        const lines = text.value.split('\\n');
        const end = lines.slice(0, line).join('\\n').length;
        text.focus();
        text.setSelectionRange(end, end);
    }""", line)
    page.keyboard.type(words)


def line_of(show: Path, needle: str) -> int:
    lines = (show / "scripts" / MANDARIN).read_text(encoding="utf-8").split("\n")
    return next(i + 1 for i, text in enumerate(lines) if needle in text)


def test_unsaved_text_survives_leaving_a_reload_and_a_studio_killed(browser: Any,
                                                                    show: Path) -> None:
    script = show / "scripts" / MANDARIN
    on_disk = script.read_bytes()
    line = line_of(show, "我是董小姐。")
    with studio_process(show) as (first, url):
        page, errors = new_page(browser)
        page.goto(f"{url}edit/{MANDARIN}")
        page.wait_for_selector("#outline .turn")
        type_at_line(page, line, "未保存的一句话。")
        page.wait_for_selector('#kept[data-state="show"]')  # in .duopod/ too, not only here

        # leaving by a link asks, in the page; staying keeps everything as it was
        page.click("a[data-leave]")
        page.wait_for_selector("#leave[open]")
        page.click("#leave-stay")
        assert page.url == f"{url}edit/{MANDARIN}"
        # a reload (or closing the tab) asks too: the browser's own prompt; staying keeps it
        page.on("dialog", lambda dialog: dialog.dismiss())
        with page.expect_event("dialog") as asked:
            page.evaluate("setTimeout(() => location.reload(), 0)")
        assert asked.value.type == "beforeunload"
        assert "未保存的一句话" in page.input_value("#text")

        # leave anyway, come back: the text is there; the episodes page says it waits
        page, errors = new_page(browser)
        page.goto(f"{url}edit/{MANDARIN}")
        page.wait_for_function("document.getElementById('text').value.includes('未保存的一句话')")
        page.click("a[data-leave]")
        page.click("#leave-anyway")
        page.wait_for_selector(f'tr[data-name="{MANDARIN}"] .unsaved-mark')
        page.goto(f"{url}edit/{MANDARIN}")
        page.wait_for_function("document.getElementById('text').value.includes('未保存的一句话')")
        assert page.locator("#restored").is_visible()
        page.reload()
        page.wait_for_function("document.getElementById('text').value.includes('未保存的一句话')")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
    assert script.read_bytes() == on_disk  # nothing was saved: the file is as it was
    # a new studio on another port (so another origin: this browser's storage is not
    # there): the text comes back from the show's .duopod/
    with studio_process(show) as (_second, url):
        page, errors = new_page(browser)
        page.goto(f"{url}edit/{MANDARIN}")
        page.wait_for_function("document.getElementById('text').value.includes('未保存的一句话')")
        assert page.locator("#editor").get_attribute("data-restored") == "show"
        page.click("#save")
        page.wait_for_selector('#kept[data-state="saved"]', state="attached")
    assert "未保存的一句话" in script.read_text(encoding="utf-8")
    assert not list((show / ".duopod" / "studio" / "unsaved").glob("*.json"))
    assert not [p for p in (show / "scripts").rglob("*") if "unsaved" in p.name]
    assert errors == []


@pytest.mark.parametrize("choice", ["keep-mine", "take-theirs", "see-difference"])
def test_a_conflict_keeps_both_versions_whatever_the_choice(browser: Any, studio: str,
                                                            show: Path, choice: str) -> None:
    script = show / "scripts" / MANDARIN
    page, errors = new_page(browser)
    page.goto(f"{studio}edit/{MANDARIN}")
    page.wait_for_selector("#outline .turn")
    type_at_line(page, line_of(show, "我是董小姐。"), "我的改动。")
    theirs = script.read_text(encoding="utf-8").replace("早上好", "晚上好")
    script.write_text(theirs, encoding="utf-8")  # another editor saved meanwhile
    page.click("#save")
    page.wait_for_selector("#conflict:not([hidden])")
    assert script.read_text(encoding="utf-8") == theirs
    kept = show / ".duopod" / "studio" / "kept"
    page.click(f"#{choice}")
    if choice == "keep-mine":
        page.wait_for_selector("#conflict", state="hidden")
        now = script.read_text(encoding="utf-8")
        assert "我的改动。" in now and "晚上好" not in now
        [copy] = kept.glob("*-theirs.md")
        assert copy.read_text(encoding="utf-8") == theirs  # theirs, kept
        assert "kept in .duopod/studio/kept/" in page.locator("#restored").text_content()
    elif choice == "take-theirs":
        page.wait_for_selector("#conflict", state="hidden")
        assert page.input_value("#text") == theirs
        assert script.read_text(encoding="utf-8") == theirs
        [copy] = kept.glob("*-mine.md")
        assert "我的改动。" in copy.read_text(encoding="utf-8")  # mine, kept
        page.click("#restored button")  # and it can come back into the editor
        page.wait_for_function("document.getElementById('text').value.includes('我的改动')")
    else:
        page.wait_for_selector("#difference:not([hidden])")
        assert "我的改动。" in "".join(page.locator("#difference .diff-mine").all_text_contents())
        assert "晚上好" in page.locator("#difference").text_content()
        assert page.locator("#conflict").is_visible()  # still to be chosen: nothing lost
        assert script.read_text(encoding="utf-8") == theirs
        assert "我的改动。" in page.input_value("#text")
    assert [e for e in errors if "409" not in e] == []


LONG_TURN = "这是一段很长的中文台词" * 40 + "。"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_long_chinese_turn_wraps_in_the_editor(browser: Any, studio: str, show: Path,
                                                 width: int) -> None:
    page, errors = new_page(browser, width, 844 if width < 800 else 900, bypass_csp=False)
    page.goto(f"{studio}edit/{MANDARIN}")
    page.wait_for_selector("#outline .turn")
    line = line_of(show, "我是董小姐。")
    type_at_line(page, line, LONG_TURN)
    sizes = page.evaluate("""() => {
        const code = document.getElementById('code'), text = document.getElementById('text');
        return {code: [code.scrollWidth, code.clientWidth], text: [text.scrollWidth, text.clientWidth],
                page: [document.documentElement.scrollWidth, innerWidth]};
    }""")
    for box, (scroll, client) in sizes.items():
        assert scroll <= client, (box, sizes)  # no sideways scroll anywhere
    # the line wraps onto many rows, and the backdrop's line numbers stay with it: the next
    # line's number sits where the textarea puts the next line
    rows = page.evaluate("""(line) => {
        const row = document.querySelectorAll('#backdrop .ln')[line - 1];
        return row.getBoundingClientRect().height / parseFloat(getComputedStyle(row).lineHeight);
    }""", line)
    assert rows >= 3, rows
    heights = page.evaluate("""() => [document.getElementById('backdrop').scrollHeight,
                                       document.getElementById('text').scrollHeight]""")
    assert abs(heights[0] - heights[1]) <= 2, heights
    page.screenshot(path=str(ARTIFACTS / f"studio-long-turn-{width}.png"))
    assert errors == []


def test_the_count_and_outline_follow_the_typing_without_a_save(browser: Any, studio: str,
                                                                show: Path) -> None:
    script = show / "scripts" / MANDARIN
    before = script.read_bytes()
    page, errors = new_page(browser)
    page.goto(f"{studio}edit/{MANDARIN}")
    page.wait_for_function("document.getElementById('stale').dataset.count === '0'")
    turns = page.locator("#outline li.turn").count()
    type_at_line(page, line_of(show, "我是董小姐。"), "再加一句。")
    page.wait_for_function("document.getElementById('stale').dataset.count === '1'")
    assert page.locator("#stale").text_content().startswith(f"1 of {turns} ")
    # a new turn at the end: the outline has it, under its host's colour, before any save
    page.evaluate("""() => { const t = document.getElementById('text');
        t.focus(); t.setSelectionRange(t.value.length, t.value.length); }""")
    page.keyboard.type("\n雷总\n新的一轮。")
    page.wait_for_function(f"document.querySelectorAll('#outline li.turn').length === {turns + 1}")
    last = page.locator("#backdrop .ln").last
    assert "host-0" in (last.get_attribute("class") or "")
    page.wait_for_function("document.getElementById('stale').dataset.count === '2'")
    assert script.read_bytes() == before  # all of it without a save
    assert errors == []


def test_keys_save_and_hear_the_turn_at_the_cursor_as_it_streams(browser: Any, studio: str,
                                                                 show: Path) -> None:
    page, errors = new_page(browser)
    heard: list[Any] = []
    page.on("request", lambda r: heard.append(json.loads(r.post_data or "{}"))
            if r.url.endswith("/api/hear") else None)
    page.goto(f"{studio}edit/{MANDARIN}")
    page.wait_for_selector("#outline .turn")
    line = line_of(show, "我是董小姐。")
    type_at_line(page, line, "多说一句。")
    page.keyboard.press("Control+Enter")
    page.wait_for_function("document.getElementById('player').dataset.state === 'done'")
    assert heard[-1]["turn"] == 1 and heard[-1].get("sentence") is None  # 董小姐's turn
    assert "多说一句。" in heard[-1]["text"]  # the unsaved text is what is heard
    assert page.locator("#player").get_attribute("data-first-audio")  # played as it came
    # the whole turn handed to the player: its length is known once it has read the header
    page.wait_for_function("document.getElementById('player').duration > 1.0")
    page.keyboard.press("Control+Shift+Enter")
    page.wait_for_function("document.querySelectorAll('#player').length && "
                           "document.getElementById('player').dataset.state === 'done'")
    assert heard[-1]["turn"] == 1 and isinstance(heard[-1]["sentence"], int)
    page.keyboard.press("Control+s")
    page.wait_for_selector('#kept[data-state="saved"]', state="attached")
    assert "多说一句。" in (show / "scripts" / MANDARIN).read_text(encoding="utf-8")
    assert errors == []


def test_the_timeline_plays_a_sentence_and_puts_the_cursor_on_its_line(
        browser: Any, studio: str, show: Path) -> None:
    page, errors = new_page(browser)
    ranges: list[str] = []
    page.on("request", lambda r: ranges.append(r.headers.get("range", ""))
            if r.url.split("?")[0].endswith(".mp3") else None)
    # verify's report flags one sentence (turn 5, numbered from 1): the timeline marks it
    [record] = [json.loads(p.read_text("utf-8")) for p in (show / "episodes").glob("*/episode.json")]
    flagged = record["timeline"]["turns"][4]["sentences"][0]["text"]
    (show / ".duopod" / "verify").mkdir(parents=True, exist_ok=True)
    (show / ".duopod" / "verify" / f"{record['slug']}.json").write_text(json.dumps(
        {"sentences": [{"turn": 5, "said": flagged, "heard": "听错", "cer": 0.5,
                        "misheard": [], "flagged": True}]}), "utf-8")
    page.goto(f"{studio}edit/{MANDARIN}")
    page.wait_for_selector("#outline .turn")
    marked = page.wait_for_selector(".tl-sentence.flagged")
    assert page.locator(".tl-sentence.flagged").count() == 1
    assert (marked.get_attribute("data-turn"), marked.get_attribute("data-sentence")) == ("4", "0")
    assert "verify heard: 听错" in (marked.get_attribute("title") or "")
    button = page.wait_for_selector('.tl-sentence[data-turn="5"][data-sentence="0"]')
    start, end = float(button.get_attribute("data-start")), float(button.get_attribute("data-end"))
    sentence = button.text_content()
    button.click()
    page.wait_for_function("document.getElementById('episode-audio').dataset.stoppedAt !== undefined",
                           timeout=60_000)
    audio = page.evaluate("""() => { const a = document.getElementById('episode-audio');
        return {from: Number(a.dataset.from), to: Number(a.dataset.to),
                stopped: Number(a.dataset.stoppedAt), paused: a.paused}; }""")
    assert (audio["from"], audio["to"]) == (start, end) and audio["paused"]
    assert end <= audio["stopped"] < end + 0.5, audio  # played to the sentence's end, no further
    assert any(r.startswith("bytes=") for r in ranges), ranges  # fetched by HTTP Range
    # the cursor on the sentence's line in the script (the timeline has the spoken text:
    # its punctuation is the full-width kind, the script's may not be)
    letters = "".join(c for c in sentence if c.isalnum())
    lines = (show / "scripts" / MANDARIN).read_text(encoding="utf-8").split("\n")
    expected = next(i + 1 for i, text in enumerate(lines)
                    if letters[:8] in "".join(c for c in text if c.isalnum()))
    assert page.locator("#editor").get_attribute("data-cursor-line") == str(expected)
    selected = page.evaluate("""() => { const t = document.getElementById('text');
        return t.value.slice(t.selectionStart, t.selectionEnd); }""")
    assert "".join(c for c in selected if c.isalnum()) == letters, (selected, sentence)
    assert errors == []
