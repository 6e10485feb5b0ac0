"""The ``duopod`` command: a thin typer layer (``app``) over the library, one progress
display for one or many scripts (``progress``) and the queue's commands (``queue``).

Every command is one library call; nothing here decides how an episode is built.
"""

from .app import app, main

__all__ = ["app", "main"]
