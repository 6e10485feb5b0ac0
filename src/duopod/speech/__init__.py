"""Stage 2, speech: every turn of a ``Script`` rendered in its host's voice, through the
content-addressed cache. ``render_turns_async`` is the entry point; engines register in
``speech.engines``; ``lexicon`` says how the show's words are pronounced.

Names are imported on first use (``duopod check`` needs the engines' registry, not the
renderer); type checkers see them imported as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .model import RenderedTurn, SentenceSpan, Speech
    from .render import ProgressCallback, TurnEvent, render_turns_async

__all__ = ["ProgressCallback", "RenderedTurn", "SentenceSpan", "Speech", "TurnEvent",
           "render_turns_async"]

_HOMES = {
    "RenderedTurn": "model", "SentenceSpan": "model", "Speech": "model",
    "ProgressCallback": "render", "TurnEvent": "render", "render_turns_async": "render",
}


__getattr__ = lazy_exports(__name__, _HOMES)
