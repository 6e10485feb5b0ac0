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
    "BuildOptions": "build", "BuildResult": "build", "build_episode": "build",
    "check_scripts": "build", "load_script": "build", "remix_episode": "build",
    "republish": "build", "rebuild_feed": "build",
    "DuopodError": "errors", "EngineError": "errors", "InputError": "errors",
    "Script": "model", "Timeline": "model",
    "Overrides": "script", "parse_script": "script",
    "Workspace": "workspace", "load_workspace": "workspace",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'duopod' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
