"""What the terminal tells a producer (issue 27.8, 27.9): every command's help names the
registry's engines, a missing extra is one line naming it, a date error says what is wrong,
the progress line knows the total and fits 80 columns, and the build's last line says
where the episode stands."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_show, run_cli
from rich.console import Console

from duopod.build.outcome import BuildEvent, BuildOutcome
from duopod.cli.progress import build_display, state_line
from duopod.speech.engines import BUILTIN_ENGINES, registry


def test_builtin_engine_names_are_the_registry_s() -> None:
    builtin = [name for name in registry() if name in BUILTIN_ENGINES]
    assert sorted(builtin) == sorted(BUILTIN_ENGINES)


@pytest.mark.parametrize("command", ["build", "mix", "enqueue", "say"])
def test_help_lists_every_engine(tmp_path: Path, command: str) -> None:
    result = run_cli(tmp_path, command, "--help")
    assert result.returncode == 0, result.stderr
    flat = " ".join(result.stdout.split())
    for name in BUILTIN_ENGINES:
        assert name in flat, (command, name, result.stdout)
    assert "edge or espeak" not in flat


def test_queue_without_its_extra_is_one_line(tmp_path: Path) -> None:
    show = copy_show(tmp_path / "show")
    code = ("import sys; sys.modules['dramatiq'] = None; sys.argv = ['duopod', 'queue', "
            "'status']; from duopod.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], cwd=show, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip() == ("duopod: error: the queue needs Dramatiq and redis "
                                     "(dramatiq is missing): pip install 'duopod[queue]'")


def test_date_errors_say_what_is_wrong(tmp_path: Path) -> None:
    show = copy_show(tmp_path / "show")
    result = run_cli(show, "new", "Title", "--date", "2025-13-01")
    assert result.returncode == 2
    assert "there is no month 13" in result.stderr, result.stderr
    result = run_cli(show, "new", "Title", "--date", "2025-02-30")
    assert "February 2025 has 28 days, not 30" in result.stderr, result.stderr


def test_progress_knows_the_total_and_fits_80_columns() -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=80, force_terminal=True, color_system=None)
    script = Path("scripts/2025-12-10-a-very-long-script-name-indeed.md")
    with build_display(console, [script]) as on_event:
        on_event(BuildEvent(script, "waiting", total=31))
        on_event(BuildEvent(script, "turn", 3, 1, 31, "turn 3 done"))
        on_event(BuildEvent(script, "turn", 4, 1, 31,
                            "turn 20 retrying: 503 [/x] Service Unavailable, waiting 4 s"))
    frames = screen.getvalue().replace("\r", "\n").split("\n")
    drawn = [f for f in frames if "/31" in f]
    assert drawn, screen.getvalue()
    assert any("4/31" in f for f in drawn)
    assert any("[/x]" in f or "retrying" in f for f in drawn)  # shown literally, not markup
    import re

    plain = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", f) for f in drawn]
    assert max(len(f) for f in plain) <= 80, plain


@pytest.mark.parametrize(("state", "at", "words"), [
    ("published", None, "published: in the feed"),
    ("draft", None, "draft: not in the feed"),
    ("scheduled", "2025-12-20T08:00:00+08:00", "scheduled for 2025-12-20T08:00:00+08:00"),
])
def test_last_line_says_where_the_episode_stands(state: str, at: str | None,
                                                 words: str) -> None:
    outcome = BuildOutcome(Path("a.md"), True, state=state, publish_at=at)
    assert state_line(outcome).startswith(words)


@pytest.mark.slow
def test_a_draft_build_says_it_is_not_in_the_feed(tmp_path: Path) -> None:
    from test_parallel import short_script

    show = copy_show(tmp_path / "show")
    script = short_script(show, "d", "Draft Episode")
    script.write_text(script.read_text("utf-8").replace("date: 2025-12-20",
                                                        "date: 2025-12-20\nstatus: draft"),
                      "utf-8")
    result = run_cli(show, "build", "scripts/d.md", "--engine", "espeak")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "draft: not in the feed", result.stdout


@pytest.mark.slow
def test_new_at_the_example_show_writes_its_language_with_its_hosts(tmp_path: Path) -> None:
    """Issue 21: at the repository's root (a zh-CN show whose newest script is English),
    `duopod new` wrote an Alex/Sam skeleton in Chinese that `build --engine espeak` then
    refused."""
    show = copy_show(tmp_path / "show")
    wrote = run_cli(show, "new", "芯片新规", "--date", "2025-12-30")
    assert wrote.returncode == 0, wrote.stderr
    path = next((show / "scripts").glob("2025-12-30-*.md"))
    text = path.read_text("utf-8")
    assert 'hosts: ["雷总", "董小姐"]' in text, text
    built = run_cli(show, "build", str(path.relative_to(show)), "--engine", "espeak")
    assert built.returncode == 0, built.stderr


def test_the_example_show_s_template_extends_the_theme(built_show: Path) -> None:
    """templates/ at the root is the example show's own override: one block of the
    packaged page replaced, the rest of the page still the theme's."""
    page = next((built_show / "episodes").glob("2025-12-10-*/index.html")).read_text("utf-8")
    assert '<p class="show-line">芯闻两人谈 · 每周二、周五更新' in page
    assert '<a href="transcript.vtt">VTT</a>' in page  # the theme's own footer, kept
    assert 'id="player"' in page


def test_show_toml_points_only_at_what_exists() -> None:
    """The example show's comments named art/make_cover.py and music/make_jingle.py, which
    did not exist; every 'python -m MODULE' it names is a module with a __main__ block."""
    import importlib.util
    import re

    from conftest import REPO

    text = (REPO / "show.toml").read_text("utf-8")
    modules = re.findall(r"python -m ([\w.]+)", text)
    assert modules, text
    for module in modules:
        spec = importlib.util.find_spec(module)
        assert spec and spec.origin, module
        assert 'if __name__ == "__main__":' in Path(spec.origin).read_text("utf-8"), module
    assert "make_cover.py" not in text and "make_jingle.py" not in text


def test_a_big5_page_is_advised_big5_not_gb18030(tmp_path: Path) -> None:
    """Issue 28.13: Big5 bytes also decode as GB18030 (into mojibake), so the old hint sent
    a Big5 page to --encoding gb18030, which imported mojibake with exit 0."""
    show = copy_show(tmp_path / "show")
    text = ("---\ntitle: 晶片新規\ndate: 2025-12-10\n---\n雷總\n美國將允許輝達向經批准的中國客戶"
            "出售晶片，這筆生意誰在算帳？\n董小姐\n我們從算力、供應鏈和國產晶片三個角度聊透。\n")
    (show / "scripts" / "big5.md").write_bytes(text.encode("big5"))
    result = run_cli(show, "check", "scripts/big5.md")
    assert result.returncode == 2
    assert "it looks like Big5" in result.stderr and "--encoding big5" in result.stderr, \
        result.stderr
    gbk = text.replace("雷總", "雷总").encode("gb18030")
    (show / "scripts" / "gbk.md").write_bytes(gbk)
    result = run_cli(show, "check", "scripts/gbk.md")
    assert "--encoding gb18030" in result.stderr, result.stderr


def test_check_shows_what_the_draft_found(tmp_path: Path) -> None:
    """Issue 23: a draft's unsupported claims (its .draft.json) are shown by `check`."""
    import json

    show = copy_show(tmp_path / "show")
    script = show / "scripts" / "drafted.md"
    script.write_text("---\ntitle: 草稿\ndate: 2025-12-10\nstatus: draft\nhosts: [雷总, 董小姐]\n"
                      "---\n雷总\n英伟达卖了九千台。\n董小姐\n好的。\n", encoding="utf-8")
    script.with_suffix(".draft.json").write_text(json.dumps({"problems": [
        {"turn": 1, "check": "grounding", "message": "'九千' is not in the article"}]},
        ensure_ascii=False), encoding="utf-8")
    result = run_cli(show, "check", "scripts/drafted.md")
    assert result.returncode == 0, result.stderr
    assert "draft     turn 1: grounding: '九千' is not in the article" in result.stdout
