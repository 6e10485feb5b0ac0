"""The studio: a local web app over a show's library (``duopod studio``).

A producer edits a script with the format's rules applied as they type, hears any turn
through the speech cache, rebuilds only what changed and publishes, in a browser. Every
action is a library call the CLI also makes (``build.scripts.build_scripts``,
``starter.new_script``, ``publish.unpublish_episode``...); the studio keeps no episode
state of its own beyond what is on disk.
"""

from __future__ import annotations

from .app import Studio, make_app, run, start

__all__ = ["Studio", "make_app", "run", "start"]
