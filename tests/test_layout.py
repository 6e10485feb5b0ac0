"""The package reads like the pipeline: each stage imports only the stages before it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "duopod"

LEVELS = {
    "errors": 0, "text": 0, "files": 0, "apple": 0, "workspace": 0, "audio": 0,
    "loudness": 0, "dsp": 0, "labels": 0, "fields": 0, "lazy": 0, "script": 1, "speech": 2, "mix": 3,
    "publish": 4, "preflight": 3, "pipeline": 5, "starter": 5, "serve": 6, "cli": 6, "__main__": 7,
    "__init__": 7,
    # scaling out: a build split at the bundle, many at once, on a queue (over the pipeline)
    "bundle": 5, "parallel": 5, "workqueue": 5, "cli_parallel": 6, "cli_queue": 6,
}


def stage(module: str) -> str:
    """'duopod.speech.engines.edge' -> 'speech'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """Every duopod module ``path`` imports (absolute names), with its line."""
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(relative.parts[:-1]) if relative.name != "__init__" else list(relative.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
            found.append((target, node.lineno))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("duopod"):
            found.append((node.module or "", node.lineno))
    return found


def test_no_module_imports_a_later_stage() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        mine = LEVELS[stage(module)]
        for target, line in imported_modules(path):
            theirs = LEVELS[stage(target)]
            if stage(target) != stage(module) and theirs > mine:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)
