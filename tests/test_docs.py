"""The documentation holds together: the site builds with every warning an error, and every
relative link in README.md and docs/*.md reaches a file that exists, so a page moved or
renamed shows up here rather than as a dead link for a newcomer."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def link_targets(markdown: str) -> list[tuple[str, int]]:
    """Every link and image target in a Markdown text, with its line (1-based); code spans
    and blocks are not links, so they are not looked at."""
    targets: list[tuple[str, int]] = []
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        if token.type != "inline" or not token.children:
            continue
        line = (token.map[0] + 1) if token.map else 0
        for child in token.children:
            target = child.attrGet("href") if child.type == "link_open" else (
                child.attrGet("src") if child.type == "image" else None)
            if isinstance(target, str):
                targets.append((target, line))
    return targets


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The relative links of ``page`` whose file does not exist, as ``file:line: target``."""
    broken = []
    for target, line in link_targets(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
            continue  # another site, mail, or a place on this page
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not (page.parent / path).exists():
            broken.append(f"{page.relative_to(root)}:{line}: {target}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file(page: Path) -> None:
    assert broken_links(page) == []


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# there\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md) [gone](missing.md#part) `[code](nowhere.md)`\n\n"
                    "| a | b |\n| --- | --- |\n| [cell](alsogone.md) | ![i](pic.png) |\n",
                    encoding="utf-8")
    found = [line.split(": ", 1)[1] for line in broken_links(page, tmp_path)]
    assert found == ["missing.md#part", "alsogone.md", "pic.png"]


def test_readme_and_docs_link_every_page_of_the_map() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    linked = {target.split("#")[0] for target, _ in link_targets(index)}
    missing = [page.name for page in PAGES[1:] if page.name != "index.md"
               and page.name not in linked]
    assert missing == [], "docs/index.md does not link these pages"


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="mkdocs is not installed (the docs or test extra)")
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "scaling" / "index.html").is_file()
