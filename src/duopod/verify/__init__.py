"""Hear what listeners hear (``duopod verify``, ``duopod build --verify``): the published
MP3 transcribed sentence by sentence, sentences heard far from the script flagged with
their misheard terms and a lexicon line to try, and ``--fix`` to add the accepted lines.
"""

from .episode import (
    DEFAULT_THRESHOLD,
    Ear,
    HeardSentence,
    LexiconLine,
    VerifyReport,
    listening_line,
    report_path,
    verify_episode,
)
from .fix import LexiconEdit, add_to_lexicon
from .whisper import Listener, VerifyUnavailable, ensure_model_dir, missing

__all__ = ["DEFAULT_THRESHOLD", "Ear", "HeardSentence", "LexiconEdit", "LexiconLine",
           "Listener", "VerifyReport", "VerifyUnavailable", "add_to_lexicon",
           "ensure_model_dir", "listening_line", "missing", "report_path", "verify_episode"]
