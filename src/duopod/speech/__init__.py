"""Stage 2, speech: every turn of a ``Script`` rendered in its host's voice, through the
content-addressed cache. ``render_turns_async`` is the entry point; engines register in
``speech.engines``; ``lexicon`` says how the show's words are pronounced."""

from .model import RenderedTurn, SentenceSpan, Speech
from .render import ProgressCallback, TurnEvent, render_turns_async

__all__ = ["ProgressCallback", "RenderedTurn", "SentenceSpan", "Speech", "TurnEvent",
           "render_turns_async"]
