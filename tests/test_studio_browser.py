"""The studio in a real browser: Debian's Chromium driven by Playwright against a studio
on a free loopback port over a copy of the example show, with the espeak engine. What a
producer does: open the show, mistype a host line and see the error at its line, play a
turn, edit one sentence and rebuild (one turn rendered), publish; and what must never
happen: a request without the token beyond loopback, an edit lost to another's save.
Screenshots at desktop and phone widths are looked at (no sideways scroll, real CJK)."""

from __future__ import annotations

import shutil
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


def new_page(browser: Any, width: int = 1280, height: int = 900, *, bypass_csp: bool = True
             ) -> tuple[Any, list[str]]:
    # bypass_csp: Playwright evaluates its waits as strings, which the pages' policy forbids
    page = browser.new_page(viewport={"width": width, "height": height}, bypass_csp=bypass_csp)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error"
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
    assert page.locator(f'#gutter span.mark-error[data-line="{host_line}"]').count() == 1
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
