"""duopod: a two-host dialogue script in, a finished and published podcast episode out.

The pipeline, one module per stage: ``script`` (parse) -> ``speech`` (render) -> ``mix``
-> ``publish``; ``build.build_episode`` runs them all.
"""

from .build import BuildOptions, BuildResult, build_episode, check_scripts, load_script
from .errors import DuopodError, EngineError, InputError
from .model import Script, Timeline
from .script import Overrides, parse_script
from .workspace import Workspace, load_workspace

__version__ = "0.1.0"

__all__ = [
    "BuildOptions", "BuildResult", "DuopodError", "EngineError", "InputError", "Overrides",
    "Script", "Timeline", "Workspace", "build_episode", "check_scripts", "load_script",
    "load_workspace", "parse_script",
]
