"""The package reads like the pipeline: each stage imports only the stages before it, and
no module needs itself back through another (no import circles)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "duopod"

LEVELS = {
    # the floor: no stage, used by all of them
    "errors": 0, "urls": 0, "http": 0, "lazy": 0, "labels": 0, "text": 0, "audio": 0,
    "show": 0, "disk": 0,
    # the stages, in the order an episode goes through them; publishing is three rooms:
    # the episode store, the site rendered from it, and the transactions over both
    "script": 1, "speech": 2, "mix": 3, "store": 4, "site": 5, "publish": 6,
    # before the script (drafting from an article) and after publishing (deploy, verify,
    # clips) all use the stages: a draft is checked as a script is, a deploy reads what
    # publish wrote
    "draft": 7, "deploy": 7, "starter": 7, "verify": 7, "clip": 7,
    # one build of an episode, whatever runs it (in-process, a process pool, the queue)
    "build": 8,
    # the faces over the library
    "serve": 9, "studio": 9, "cli": 10, "__main__": 11, "__init__": 11,
}


def stage(module: str) -> str:
    """'duopod.speech.engines.edge' -> 'speech'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    """'src/duopod/speech/__init__.py' -> 'duopod.speech'."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path) -> Iterator[tuple[str, int]]:
    """Every duopod module ``path`` imports (absolute names), with its line. A relative
    import is resolved from the module's own package: an ``__init__.py`` *is* its package,
    so ``from .x import`` in ``duopod/site/__init__.py`` names ``duopod.site.x``."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base)
        elif (node.module or "").startswith("duopod"):
            target = node.module or ""
        else:
            continue
        named = [f"{target}.{alias.name}" for alias in node.names]
        submodules = [name for name in named if name in MODULES]
        for found in submodules or [target]:
            yield found, node.lineno


def test_every_relative_import_resolves_to_a_module() -> None:
    wrong = [f"{path.relative_to(PACKAGE)}:{line} imports {target}"
             for path in MODULES.values() for target, line in imported_modules(path)
             if target not in MODULES]
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_a_later_stage() -> None:
    wrong = []
    for module, path in MODULES.items():
        mine = LEVELS[stage(module)]
        for target, line in imported_modules(path):
            theirs = LEVELS[stage(target)]
            if stage(target) != stage(module) and theirs > mine:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_circles() -> None:
    """Modules whose imports lead back to themselves, type checkers' imports included: each
    circle is a room that does not say what it holds, or a helper in the wrong room."""
    graph = {module: {target for target, _ in imported_modules(path)
                      if target != module and not module.startswith(target + ".")}
             for module, path in MODULES.items()}
    circles = [sorted(group) for group in _strongly_connected(graph) if len(group) > 1]
    assert not circles, "\n".join(" <-> ".join(circle) for circle in circles)


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            step = next((e for e in edges if e in graph), None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = counter
                    counter += 1
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                groups.append(group)
    return groups
