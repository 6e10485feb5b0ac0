"""duopod: a two-host dialogue script in, a finished and published podcast episode out.

The pipeline, one module per stage: ``script`` (parse) -> ``speech`` (render) -> ``mix``
-> ``publish``; ``build.build_episode`` runs them all. Names are imported on first use, so
``import duopod`` (and the command's start-up) stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "BuildOptions": "pipeline", "BuildResult": "pipeline", "build_episode": "pipeline",
    "check_scripts": "pipeline", "load_script": "pipeline", "remix_episode": "pipeline",
    "republish": "pipeline", "rebuild_feed": "pipeline",
    "DuopodError": "errors", "EngineError": "errors", "InputError": "errors",
    "Script": "script.model", "Timeline": "mix.timeline",
    "Overrides": "script.parse", "parse_script": "script.parse",
    "ImportResult": "script.importer", "import_page": "script.importer",
    "Workspace": "workspace", "load_workspace": "workspace",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'duopod' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
