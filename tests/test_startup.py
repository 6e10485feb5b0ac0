"""What `duopod check` loads before it answers: no mixing, publishing or network code, and
no pinyin dictionary for a title it has romanised before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import MANDARIN

from duopod.text import romanised, slugify

PROBE = """
import sys
from duopod.cli.app import main
sys.argv = ["duopod", "check", "scripts/{script}"]
try:
    main()
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("duopod", "pypinyin", "aiohttp",
                "edge_tts", "scipy", "jinja2", "numpy", "asyncio", "onnxruntime"))
print("LOADED", " ".join(loaded))
"""


def modules_loaded_by_check(show: Path) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(script=MANDARIN)], cwd=show,
                            capture_output=True, text=True, check=True, timeout=120)
    line = next(line for line in result.stdout.splitlines() if line.startswith("LOADED"))
    return set(line.split()[1:])


def test_check_loads_no_mixing_publishing_or_network_code(show: Path) -> None:
    loaded = modules_loaded_by_check(show)
    assert "duopod.build.preflight" in loaded
    for later in ("duopod.build.pipeline", "duopod.mix", "duopod.publish", "duopod.speech.render",
                  "duopod.script.importer", "aiohttp", "edge_tts", "scipy", "jinja2"):
        assert later not in loaded, later


def test_check_validates_voice_profiles_without_rendering_code(show: Path) -> None:
    """Every engine table of the example profiles is checked by its light settings module:
    no engine is made, so neither numpy nor asyncio nor the audio code loads."""
    loaded = modules_loaded_by_check(show)
    for rendering in ("numpy", "asyncio", "duopod.audio.decode", "duopod.speech.model", "onnxruntime",
                      "duopod.speech.engines.edge", "duopod.speech.engines.espeak",
                      "duopod.speech.engines.kokoro", "duopod.speech.engines.openai"):
        assert rendering not in loaded, rendering
    assert {f"duopod.speech.engines.{engine}_settings"
            for engine in ("edge", "espeak", "kokoro", "openai")} <= loaded


def test_check_romanises_a_title_once(show: Path) -> None:
    assert "pypinyin" in modules_loaded_by_check(show)  # the first time: the dictionary
    assert (show / ".duopod" / "cache" / "pinyin.json").is_file()
    assert "pypinyin" not in modules_loaded_by_check(show)  # then: the memo


def test_pinyin_memo_is_a_shortcut_only(tmp_path: Path) -> None:
    memo = tmp_path / "pinyin.json"
    assert slugify("银行行长", "2025-01-02", memo) == "2025-01-02-yin-hang-hang-zhang"
    entries = json.loads(memo.read_text(encoding="utf-8"))
    assert list(entries.values()) == [["yin", "hang", "hang", "zhang"]]
    memo.write_text("{not json", encoding="utf-8")  # damaged: read as empty, then rewritten
    assert romanised("银行", memo) == ["yin", "hang"]
    assert json.loads(memo.read_text(encoding="utf-8"))
    key = next(iter(json.loads(memo.read_text(encoding="utf-8"))))
    memo.write_text(json.dumps({key: "not a list"}), encoding="utf-8")
    assert romanised("银行", memo) == ["yin", "hang"]


def test_compiled_templates_are_kept_and_follow_their_source(show: Path) -> None:
    """A build compiles the theme once per show, not once per process; a producer's edit to
    a template is picked up all the same."""
    from duopod.show.workspace import load_workspace
    from duopod.site import templates

    workspace = load_workspace(show)
    (show / "templates").mkdir(exist_ok=True)
    (show / "templates" / "greeting.html").write_text("你好 {{ who }}", encoding="utf-8")
    assert templates.render_template(workspace, "greeting.html", who="<b>") == "你好 &lt;b&gt;"
    assert list((workspace.cache_dir / "templates" / "markup").iterdir())
    templates._environment.cache_clear()  # as a new process would start
    (show / "templates" / "greeting.html").write_text("再见 {{ who }}", encoding="utf-8")
    assert templates.render_template(workspace, "greeting.html", who="x") == "再见 x"
