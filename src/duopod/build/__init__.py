"""Build an episode: the one implementation of "this script, published", whatever runs it.

- ``steps``: the two steps of one episode, *produce* (script -> bundle: lock, identity,
  engine, render, mix, encode, notes) and *land* (bundle -> published record + problems).
- ``preflight``: what every build checks first, once per script (``duopod check`` too).
- ``scripts.build_scripts``: the call every face makes; it picks the executor.
- The executors: ``local`` (this process), ``pool`` (a process pool, ``--jobs``),
  ``queue`` (Dramatiq on Redis, any number of machines).
- ``outcome``: the events and outcomes they all report, and the one exit-code rule.
- ``pipeline.build_episode``: ``build_scripts`` for one script in this process, its
  objects returned and its failure raised.

Names are imported on first use, so ``duopod check`` (which needs only ``preflight``)
loads no audio or publishing code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .options import BuildOptions
    from .outcome import BuildEvent, BuildOutcome, exit_code
    from .pipeline import BuildResult, build_episode, remix_episode
    from .preflight import check_scripts, load_script
    from .scripts import BuildRun, build_scripts, choose_executor
    from .steps import make_engine, render

__all__ = ["BuildEvent", "BuildOptions", "BuildOutcome", "BuildResult", "BuildRun",
           "build_episode", "build_scripts", "check_scripts", "choose_executor", "exit_code",
           "load_script", "make_engine", "remix_episode", "render"]

__getattr__ = lazy_exports(__name__, {
    "BuildOptions": "options", "BuildEvent": "outcome", "BuildOutcome": "outcome",
    "exit_code": "outcome", "BuildResult": "pipeline", "build_episode": "pipeline",
    "remix_episode": "pipeline", "check_scripts": "preflight", "load_script": "preflight",
    "BuildRun": "scripts", "build_scripts": "scripts", "choose_executor": "scripts",
    "make_engine": "steps", "render": "steps",
})
