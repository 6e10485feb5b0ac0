"""How far what a listener heard is from what the script says: one sentence's character
error rate, and which of its product codes and English terms did not come through.

Both sides are compared in one plain form: NFKC (full-width letters and digits become
ASCII), case folded, Chinese numerals as digits (the script writes "H20", the lexicon asks
for "H二十", Whisper writes "H20" or "H二十": all three are the same to a listener), and
letters and digits only (punctuation and spaces are not what a voice is judged on).
In Chinese each character is then taken as the syllable it sounds (toneless pinyin): a
listener hears sounds, and a homophone Whisper picks ("英伟大" for 英伟达, "爱吃" for the
lexicon's 艾尺) was heard right; so the error rate counts characters that sound wrong.
A sentence is compared with its written form and with its spoken form (after the
lexicon: "DeepSeek" asked as "深度求索" and heard so is right), and the nearer one counts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Hearing", "cer", "chinese_numerals_to_digits", "compare", "edit_distance",
           "plain", "sounds", "terms"]

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_MYRIADS = {"万": 10_000, "亿": 100_000_000}
_NUMERAL_RUN = re.compile(f"[{''.join(_DIGITS)}{''.join(_UNITS)}{''.join(_MYRIADS)}]+")
_TERM = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*(?![A-Za-z0-9])")


def _numeral_value(run: str) -> str:
    """One run of Chinese numerals as digits: "二十" -> "20", "两百零五" -> "205",
    "六七一" (read digit by digit) -> "671"; a run that is no number is left alone."""
    if not any(c in _UNITS or c in _MYRIADS for c in run):
        return "".join(str(_DIGITS[c]) for c in run)
    total = section = digit = 0
    seen_digit = False
    for char in run:
        if char in _DIGITS:
            digit, seen_digit = _DIGITS[char], True
        elif char in _UNITS:
            section += (digit if seen_digit else 1) * _UNITS[char]
            digit, seen_digit = 0, False
        else:
            if section == 0 and not seen_digit and total == 0:
                return run  # "万" alone ("万一" is "just in case"): not a number
            total = (total + section + digit) * _MYRIADS[char]
            section = digit = 0
            seen_digit = False
    return str(total + section + digit)


def chinese_numerals_to_digits(text: str) -> str:
    return _NUMERAL_RUN.sub(lambda match: _numeral_value(match.group()), text)


def plain(text: str) -> str:
    """The form both sides are compared in (see the module's docstring)."""
    folded = chinese_numerals_to_digits(unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LN")


def sounds(text: str, language: str) -> list[str]:
    """The plain form as a list of what is heard: in Chinese a toneless syllable per Han
    character (pypinyin, with its phrase readings), elsewhere (and for Latin letters and
    digits) one character each."""
    flat = plain(text)
    if not language.lower().startswith(("zh", "cmn", "yue")):
        return list(flat)
    from pypinyin import Style, lazy_pinyin

    def letters(run: str) -> Any:  # pypinyin takes a list here though its stub says str
        return ["\0" + c for c in run]

    marked = lazy_pinyin(flat, style=Style.NORMAL, errors=letters)
    return [token.removeprefix("\0") for token in marked]


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    if not needle:
        return False
    width = len(needle)
    return any(list(haystack[i:i + width]) == list(needle)
               for i in range(len(haystack) - width + 1))


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance (insertions, deletions, substitutions of one character)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def cer(reference: str, heard: str, language: str = "") -> float:
    """Character error rate of one sentence, by sound in Chinese (see ``sounds``), capped
    at 1.0 (a hallucinated paragraph counts as one wholly wrong sentence, no more)."""
    ref = sounds(reference, language)
    return min(1.0, edit_distance(ref, sounds(heard, language)) / max(1, len(ref)))


def terms(text: str, language: str) -> list[str]:
    """The product codes and English terms of a sentence, in order, each once: in a
    Chinese sentence every run of Latin letters and digits that holds a letter ("H20",
    "DeepSeek-R1", "671B"); in another language only codes, acronyms and mixed-case names
    ("H20", "GPU", "DeepSeek"), since there every word is Latin."""
    found: list[str] = []
    for term in _TERM.findall(text):
        if not any(c.isalpha() for c in term) or term in found:
            continue
        chinese = language.lower().startswith("zh")
        if chinese or any(c.isdigit() for c in term) or sum(c.isupper() for c in term) >= 2:
            found.append(term)
    return found


@dataclass(frozen=True)
class Hearing:
    """One sentence compared with what was heard."""

    cer: float
    misheard: tuple[str, ...]
    """The sentence's terms found in neither its written nor its spoken form."""


def compare(written: str, heard: str, language: str, say: Callable[[str], str]) -> Hearing:
    """``written`` (as the script has it) against ``heard``; ``say`` gives the spoken form
    the lexicon asks for (identity without a lexicon)."""
    rate = min(cer(written, heard, language), cer(say(written), heard, language))
    ear = sounds(heard, language)
    misheard = tuple(term for term in terms(written, language)
                     if not _contains(ear, sounds(term, language))
                     and not _contains(ear, sounds(say(term), language)))
    return Hearing(rate, misheard)
