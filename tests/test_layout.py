"""The package reads like the pipeline: each stage imports only the stages before it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "duopod"

LEVELS = {
    # the floor: no stage, used by all of them
    "errors": 0, "files": 0, "urls": 0, "http": 0, "answers": 0, "lazy": 0, "labels": 0,
    "text": 0, "audio": 0, "show": 0,
    # the stages, in the order an episode goes through them
    "script": 1, "speech": 2, "mix": 3, "publish": 4,
    # before the script (drafting from an article) and after publishing (deploy) both use
    # the stages: a draft is checked as a script is, a deploy reads what publish wrote
    "draft": 5, "deploy": 5, "starter": 5, "verify": 5,
    # one build of an episode, whatever runs it (in-process, a process pool, the queue)
    "build": 6,
    # the faces over the library
    "serve": 7, "studio": 7, "cli": 8, "__main__": 9, "__init__": 9,
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
