"""Stage 2, speech: every turn of a ``Script`` rendered in its host's voice, through the
content-addressed cache. ``render_turns_async`` is the entry point; engines register in
``speech.engines``; ``lexicon`` says how the show's words are pronounced.

Names are imported on first use (``duopod check`` needs the engines' registry, not the
renderer); type checkers see them imported as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import RenderedTurn, SentenceSpan, Speech
    from .render import ProgressCallback, TurnEvent, render_turns_async

__all__ = ["ProgressCallback", "RenderedTurn", "SentenceSpan", "Speech", "TurnEvent",
           "render_turns_async"]

_HOMES = {
    "RenderedTurn": "model", "SentenceSpan": "model", "Speech": "model",
    "ProgressCallback": "render", "TurnEvent": "render", "render_turns_async": "render",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
