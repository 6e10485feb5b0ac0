"""Starting a show from nothing: duopod init, duopod new, a show's own templates, and the
package carrying everything a show needs (the theme as package data)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, run_cli, tree_snapshot

from duopod.errors import InputError
from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace
from duopod.site.templates import THEME_TEMPLATES
from duopod.starter import create_show, new_script


def test_init_writes_a_show_that_loads_and_checks(tmp_path: Path) -> None:
    show = create_show(tmp_path / "show", title="芯闻两人谈", language="zh-CN",
                       hosts=("雷总", "董小姐"), today=dt.date(2025, 12, 10))
    ws = load_workspace(show.folder)
    assert ws.show.title == "芯闻两人谈" and ws.show.cover is not None
    assert set(ws.profiles) == {"雷总", "董小姐"}
    assert ws.show.music.intro is not None and ws.show.music.intro.stat().st_size > 100_000
    (script,) = (show.folder / "scripts").glob("*.md")
    parsed = parse_script(script, workspace=show.folder)
    assert parsed.hosts == ("雷总", "董小姐") and len(parsed.turns) == 6


def test_init_in_english_with_three_hosts(tmp_path: Path) -> None:
    show = create_show(tmp_path / "s", title="Open Models", language="en-US",
                       hosts=("Alex", "Sam", "Kim"))
    ws = load_workspace(show.folder)
    assert ws.show.language == "en-US" and set(ws.profiles) == {"Alex", "Sam", "Kim"}
    assert ws.profiles["Sam"].settings("edge")["voice"] == "en-US-JennyNeural"


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not empty"):
        create_show(folder, title="x")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("kwargs, message", [
    ({"language": "fr-FR"}, "--language"),
    ({"title": "  "}, "--title"),
    ({"hosts": ("A", "A")}, "twice"),
])
def test_init_refuses_bad_options(tmp_path: Path, kwargs: dict, message: str) -> None:
    options = {"title": "Show", **kwargs}
    with pytest.raises(InputError, match=message):
        create_show(tmp_path / "show", **options)
    assert not (tmp_path / "show").exists()


def test_new_writes_a_dated_skeleton_and_never_overwrites(tmp_path: Path) -> None:
    show = create_show(tmp_path / "show", title="芯闻", hosts=("雷总", "董小姐"))
    ws = load_workspace(show.folder)
    path = new_script(ws, "芯片出口新规", date=dt.date(2025, 12, 10))
    assert path.name == "2025-12-10-xin-pian-chu-kou-xin-gui.md"
    script = parse_script(path, workspace=show.folder)
    assert script.meta.title == "芯片出口新规" and set(script.hosts) == {"雷总", "董小姐"}
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        new_script(ws, "芯片出口新规", date=dt.date(2025, 12, 10))
    assert path.read_bytes() == before


@pytest.mark.slow
def test_the_wheel_carries_the_theme(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(REPO)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("duopod-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in THEME_TEMPLATES:
        assert f"duopod/theme/{template}" in names
    assert "duopod/py.typed" in names and "duopod/starter/cover.py" in names


@pytest.mark.slow
def test_a_new_show_builds_and_its_own_template_wins(tmp_path: Path) -> None:
    folder = tmp_path / "show"
    result = run_cli(tmp_path, "init", "show", "--title", "芯闻两人谈", "--language", "zh-CN",
                     "--hosts", "雷总,董小姐")
    assert result.returncode == 0, result.stderr
    assert run_cli(tmp_path, "init", "show", "--title", "again").returncode == 2
    result = run_cli(folder, "new", "芯片出口新规", "--date", "2025-12-10")
    assert result.returncode == 0, result.stderr
    (folder / "templates").mkdir()
    (folder / "templates" / "site.html").write_text(
        "<!doctype html><title>{{ show.title }}</title><h1>OUR OWN {{ episodes|length }}</h1>",
        encoding="utf-8")
    producer = tree_snapshot(folder / "scripts")
    result = run_cli(folder, "build", "scripts/2025-12-10-xin-pian-chu-kou-xin-gui.md",
                     "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    episodes = folder / "episodes"
    assert "OUR OWN 1" in (episodes / "index.html").read_text(encoding="utf-8")
    (page,) = episodes.glob("*/index.html")
    assert "<audio" in page.read_text(encoding="utf-8")  # the package's episode page
    record = json.loads(next(episodes.glob("*/episode.json")).read_text(encoding="utf-8"))
    assert record["hosts"] == ["雷总", "董小姐"] and record["engine"] == "espeak"
    assert tree_snapshot(folder / "scripts") == producer
