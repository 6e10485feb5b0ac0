"""Preflight: what every build checks before any work, and all that ``duopod check`` needs.

A script is parsed against the show (its hosts need voice profiles), every engine table of
those profiles is validated as a build would, and the lexicon is read, so a mistake is one
line naming the file before any speech is rendered. Kept apart from the pipeline so that
``duopod check`` loads no mixing or publishing code (start-up is most of its time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..script.model import Script
from ..script.parse import Overrides, parse_script
from ..speech.engines import check_profile_settings
from ..speech.lexicon import lexicon_entries
from ..show.workspace import Workspace

__all__ = ["BuildOptions", "check_scripts", "load_script"]


@dataclass(frozen=True)
class BuildOptions:
    engine: str = "auto"
    use_cache: bool = True
    cache_only: bool = False
    concurrency: int = 4
    retry_for: float = 180.0
    """Seconds to keep retrying an edge-tts request (timeouts, dropped connections,
    throttling, outages) from its first failure."""
    force: bool = False
    encoding: str | None = None
    overrides: Overrides = field(default_factory=Overrides)


def load_script(workspace: Workspace, path: Path, options: BuildOptions) -> Script:
    """Parse and validate a script against the workspace (hosts need voice profiles)."""
    script = parse_script(path, encoding=options.encoding, overrides=options.overrides,
                          workspace=workspace.root, known_hosts=tuple(workspace.profiles),
                          pinyin_memo=workspace.cache_dir / "pinyin.json")
    check_profile_settings(workspace.profiles_for(script.hosts, script.path, script.first_lines()))
    lexicon_entries(workspace, script)  # a bad lexicon entry is an input error up front
    return script


def check_scripts(workspace: Workspace, paths: list[Path], options: BuildOptions
                  ) -> list[Script]:
    """Load every script, and refuse two that would publish under the same slug."""
    scripts = [load_script(workspace, p, options) for p in paths]
    slugs: dict[str, Path] = {}
    for script in scripts:
        if script.meta.slug in slugs:
            raise InputError(
                f"slug {script.meta.slug!r} is also used by {slugs[script.meta.slug]}",
                script.path, 1,
            )
        slugs[script.meta.slug] = script.path
    return scripts
