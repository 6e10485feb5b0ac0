"""duopod: a two-host dialogue script in, a finished and published podcast episode out.

The pipeline, one stage per package, each importing only the stages before it:

    script (parse) -> speech (render) -> mix (plan, master, encode) -> publish (site, feed)

``build`` runs them all (``build_scripts``; ``build_episode`` for one script, raising);
``starter`` makes a new show. Every command
of the ``duopod`` CLI is one call of this API.

The names below are imported when first used, so ``import duopod`` (and the command's
start-up, which runs this file) stays quick; type checkers see them imported as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:  # what type checkers see; at run time names are imported on first use
    from .build.options import BuildOptions
    from .build.pipeline import BuildResult, build_episode, remix_episode
    from .build.preflight import check_scripts, load_script
    from .errors import DuopodError, EngineError, InputError
    from .mix import MixedEpisode, Timeline, mix_episode
    from .publish import EpisodeRecord, publish_episode, rebuild_feed, republish
    from .script.importer import ImportResult, import_page
    from .script.model import Script
    from .script.parse import Overrides, parse_script
    from .show.workspace import Workspace, load_workspace
    from .speech.engines import EngineSpec, registry

__version__ = "0.2.0"

__all__ = [
    "BuildOptions", "BuildResult", "DuopodError", "EngineError", "EngineSpec",
    "EpisodeRecord", "ImportResult", "InputError", "MixedEpisode", "Overrides", "Script",
    "Timeline", "Workspace", "build_episode", "check_scripts", "import_page", "load_script",
    "load_workspace", "mix_episode", "parse_script", "publish_episode", "rebuild_feed",
    "registry", "remix_episode", "republish",
]

_HOMES = {
    "DuopodError": "errors", "EngineError": "errors", "InputError": "errors",
    "MixedEpisode": "mix", "Timeline": "mix", "mix_episode": "mix",
    "BuildOptions": "build.options", "BuildResult": "build.pipeline",
    "build_episode": "build.pipeline", "check_scripts": "build.preflight",
    "load_script": "build.preflight", "rebuild_feed": "publish",
    "remix_episode": "build.pipeline", "republish": "publish",
    "EpisodeRecord": "publish", "publish_episode": "publish",
    "Script": "script.model", "Overrides": "script.parse", "parse_script": "script.parse",
    "EngineSpec": "speech.engines", "registry": "speech.engines",
    "ImportResult": "script.importer", "import_page": "script.importer",
    "Workspace": "show.workspace", "load_workspace": "show.workspace",
}


__getattr__ = lazy_exports(__name__, _HOMES)
