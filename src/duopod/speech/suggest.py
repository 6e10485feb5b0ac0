"""Lexicon entries worth adding: the Latin-letter tokens of a Mandarin script that no
lexicon entry covers. A Mandarin voice spells capitals and codes letter by letter ("H20":
H, 2, 0, or kokoro's "H 二十") and reads other Latin words as English as best it can
("DeepSeek"), which is rarely what the hosts would say; ``duopod check`` lists them, most
frequent first, with an entry to start from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..labels import is_chinese
from .lexicon import Entry, speller

__all__ = ["Suggestion", "lexicon_suggestions"]

_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]*(?:[.-][A-Za-z0-9]+)*(?![A-Za-z0-9])")


@dataclass(frozen=True)
class Suggestion:
    token: str
    count: int
    spelled: bool
    """Read letter by letter (capitals, a single letter, letters with digits), else read
    as an English word."""

    def message(self, language: str) -> str:
        how = "spelled letter by letter" if self.spelled else "read as an English word"
        return (f"{self.token!r} ×{self.count} is {how}; to have it said otherwise, add to "
                f'lexicon.toml [{language}]: "{self.token}" = "…"')


def will_be_spelled(token: str) -> bool:
    """What a Mandarin voice reads letter by letter (kokoro_text.latin_phonemes' rule)."""
    return len(token) == 1 or (token.isupper() and len(token) <= 5) or any(
        c.isdigit() for c in token)


def lexicon_suggestions(entries: Iterable[Entry], language: str, texts: Iterable[str],
                        limit: int = 10) -> list[Suggestion]:
    """The uncovered Latin tokens of ``texts`` in a Chinese episode, most frequent first
    (none for other languages: their voices read Latin words as words)."""
    if not is_chinese(language):
        return []
    spell = speller(list(entries), language, None)
    counts: Counter[str] = Counter()
    for text in texts:  # what an entry covers is taken out, not replaced by its spoken form
        uncovered = spell.blanked(text)
        counts.update(_TOKEN.findall(uncovered))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [Suggestion(token, count, will_be_spelled(token)) for token, count in ranked[:limit]]
