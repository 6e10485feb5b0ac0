"""The command line's small promises: exit codes and --version."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import copy_show, run_cli


@pytest.mark.slow
def test_version_prints_the_version(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"duopod {version('duopod')}"


@pytest.mark.slow
def test_unknown_engine_is_bad_input(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "voices", "--engine", "foo")
    assert result.returncode == 2
    assert "unknown engine 'foo'" in result.stderr


@pytest.mark.slow
def test_check_fails_on_a_host_with_no_words(tmp_path: Path) -> None:
    show = copy_show(tmp_path / "show")
    script = show / "scripts" / "one-voice.md"
    script.write_text("---\ntitle: t\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\n---\n"
                      "雷总\n早上好。\n董小姐姐\n我是董小姐。\n", encoding="utf-8")
    result = run_cli(show, "check", "scripts/one-voice.md")
    assert result.returncode == 2
    assert "one-voice.md:8:" in result.stderr and "did you mean 董小姐?" in result.stderr
    script.write_text("---\ntitle: t\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\n---\n"
                      "雷总\n早上好。\n雷总\n再见。\n", encoding="utf-8")
    result = run_cli(show, "check", "scripts/one-voice.md")
    assert result.returncode == 2
    assert "'董小姐' is listed in hosts but has no words" in result.stderr
