"""The show's deploy targets, as ``show.config`` read them with the rest of show.toml (the
schema is ``show.targets``): chosen by name here."""

from __future__ import annotations

from ..show.targets import DeployTarget
from ..show.workspace import Workspace

__all__ = ["DeployTarget", "choose_target", "load_targets"]


def load_targets(workspace: Workspace) -> dict[str, DeployTarget]:
    """Every deploy target of the show, by name (none: an empty dict)."""
    return {target.name: target for target in workspace.show.deploy}


def choose_target(workspace: Workspace, name: str | None) -> DeployTarget:
    """The target called ``name``; without a name, the only one there is."""
    return workspace.show.deploy_target(name)
