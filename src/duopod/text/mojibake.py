"""Repair the one kind of mojibake scraped Chinese articles keep arriving with: GBK text
read one byte out of step.

A scraper that loses a byte of a GBK-encoded page reads every following pair of bytes
across two characters, until an ASCII byte puts it back in step. ``表示。“我預計`` comes out
as ``表示?!拔翌A(yù)計``: the lost lead byte is the ``?``, ``！`` (a3 a1, shown as ``!``)
is the second half of ``。`` joined to the first half of ``“``, and so on. Reading the same
bytes one step earlier gives the text back, once the lost byte is found.

Finding it is a search over the 126 possible lead bytes (and, when the run ends in a
second ``?``, the lost trail byte too), keeping only readings whose every character the
article itself uses elsewhere (or common punctuation), preferring readings whose pairs of
characters also occur in it, and the reading that the romanisation pasted after it
(``擔(dān)``) confirms. A run no reading explains is left as it was, unless it carries
the marks of this damage (a ``?`` and a stray syllable), in which case what cannot be
read becomes ``□``, the mark Chinese editions use for an illegible character.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

_PUNCTUATION = set("。，、；：？！“”‘’《》（）—…·")
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"
_SYLLABLE = rf"[a-z{_TONED}]{{1,6}}"
_RUN_START = re.compile(rf"\?(?:({_SYLLABLE})\))?")
"""A lost lead byte, sometimes followed by the remains of a pasted syllable ('nèi)')."""
_MAX_RUN = 8
_ILLEGIBLE = "□"


@dataclass(frozen=True)
class _Reading:
    text: str
    score: tuple[int, int, int, int]


def repair_shifted_gbk(text: str) -> str:
    """Read back every run of out-of-step GBK in ``text`` that one reading explains."""
    if "?" not in text or not re.search(r"[\u4e00-\u9fff]", text):
        return text
    vocabulary = _Vocabulary.of(text)
    out: list[str] = []
    i = 0
    while i < len(text):
        match = _RUN_START.match(text, i) if text[i] == "?" else None
        repaired = _repair_run(text, match, vocabulary, out) if match else None
        if repaired is None:
            out.append(text[i])
            i += 1
            continue
        replacement, end = repaired
        out.append(replacement)
        i = end
    return "".join(out)


# ---------------------------------------------------------------- what the article uses


@dataclass(frozen=True)
class _Vocabulary:
    chars: Counter[str]
    pairs: Counter[str]

    @classmethod
    def of(cls, text: str) -> _Vocabulary:
        clean = re.sub(r"\?[^\n]{0,12}", "\n", text)  # leave the damaged stretches out
        chars = Counter(c for c in clean if "\u4e00" <= c <= "\u9fff")
        pairs = Counter(clean[i : i + 2] for i in range(len(clean) - 1))
        return cls(chars, pairs)

    def knows(self, char: str) -> bool:
        return char in self.chars or char in _PUNCTUATION or (char.isascii() and
                                                               char.isalnum())


# ---------------------------------------------------------------- one run


def _repair_run(text: str, start: re.Match[str], vocabulary: _Vocabulary, before: list[str]
                ) -> tuple[str, int] | None:
    """The replacement for the run opening at ``start`` and where it ends, or None."""
    junk = start.group(1) is not None
    body_start = start.end()
    end, swallowed = _run_end(text, body_start)
    if end is None:
        return None
    body = text[body_start:end]
    after = end + 1 if swallowed else end
    syllable, syllable_end = _pasted_syllable(text, after, lost_paren=swallowed)
    opened = _quote_open("".join(before))
    best = _best_reading(body, swallowed, junk, syllable, vocabulary, opened, before[-1:])
    if syllable is not None and swallowed:  # '擔(dān)' lost its '(': drop 'dān)' too
        after = syllable_end
    if best is not None:
        return best + _swallowed_ascii(text, after, swallowed), after
    if body.startswith("!"):  # '?!': 。 and a quote, then bytes the scraper dropped
        partial = _partial_reading(body, vocabulary, opened)
        if partial:
            return partial + _swallowed_ascii(text, after, swallowed), after
    if junk and body:
        return _ILLEGIBLE * max(1, sum(not c.isascii() for c in body)), after
    return None


def _partial_reading(body: str, vocabulary: _Vocabulary, quote_open: bool) -> str | None:
    """The readable start of a run some of whose bytes were dropped: '。' and the quote,
    then one □ per character that cannot be read."""
    data = b"".join(_gbk(c) or b"" for c in body if not c.isascii() or _fullwidth(c))
    quote = "”" if quote_open else "“"
    for lead in range(0x81, 0xFF):
        raw = bytes([lead]) + data
        if raw[:2].decode("gbk", "replace") != "。":
            continue
        readable = "。"
        at = 2
        while at + 2 <= len(raw):
            char = raw[at : at + 2].decode("gbk", "replace")
            if not (vocabulary.knows(char) and char != "\ufffd") or len(readable) >= 2:
                break
            readable += char
            at += 2
        if readable[-1:] in "“”":
            readable = readable[:-1] + quote
        lost = max(1, (len(raw) - at) // 2)
        return readable + _ILLEGIBLE * lost
    return None


def _run_end(text: str, start: int) -> tuple[int | None, bool]:
    """Where the run ends: just past an ASCII letter that put the reading back in step,
    or at a second '?' (a lost trail byte and the ASCII byte swallowed with it)."""
    for end in range(start, min(len(text), start + _MAX_RUN + 1)):
        char = text[end]
        if char == "?":
            return end, True
        if char.isascii() and (char.isalnum() or char == "@") and 0x40 <= ord(char) <= 0x7E:
            return end + 1, False
        if char == "\n" or (char.isascii() and not _fullwidth(char)):
            return None, False
        if not char.isascii() and _gbk(char) is None:
            return None, False
    return None, False


def _pasted_syllable(text: str, at: int, lost_paren: bool) -> tuple[str | None, int]:
    """The romanisation pasted after the run's last character, when there is one, and
    where it ends (``at`` when there is none)."""
    pattern = rf"\(?({_SYLLABLE})\)" if lost_paren else rf"\(({_SYLLABLE})\)"
    match = re.compile(pattern).match(text, at)
    if match and set(match.group(1)) & set(_TONED):
        return match.group(1), match.end()
    return None, at


def _swallowed_ascii(text: str, at: int, swallowed: bool) -> str:
    """The ASCII byte read together with a lost trail byte, when what follows names it."""
    if swallowed and text.startswith("br", at):
        return "<"
    return ""


def _best_reading(body: str, swallowed: bool, junk: bool, syllable: str | None,
                  vocabulary: _Vocabulary, quote_open: bool, before: list[str]) -> str | None:
    """Only the first character depends on the lost lead byte (and the last on a lost
    trail byte): the ones between are fixed by the bytes. So the lead and trail are chosen
    by what confirms them, and a character nothing confirms becomes □."""
    data = b"".join(_gbk(c) or b"" for c in body)
    trails: list[int | None] = list(range(0x40, 0xFF)) if swallowed else [None]
    best: _Reading | None = None
    for lead in range(0x81, 0xFF):
        for trail in trails:
            raw = bytes([lead]) + data + (bytes([trail]) if trail is not None else b"")
            reading = _read(raw, swallowed, junk, syllable, vocabulary, quote_open, before)
            if reading is not None and (best is None or reading.score > best.score):
                best = reading
    return best.text if best else None


def _read(raw: bytes, swallowed: bool, junk: bool, syllable: str | None,
          vocabulary: _Vocabulary, quote_open: bool, before: list[str]) -> _Reading | None:
    try:
        text = raw.decode("gbk")
    except UnicodeDecodeError:
        return None
    if len(text) < 2 and syllable is None:
        return None
    if not all(_is_text(c) for c in text):
        return None
    if syllable is not None and syllable not in _readings(text[-1]):
        return None
    if junk and not "\u4e00" <= text[0] <= "\u9fff":
        return None  # a pasted syllable belonged to a character, not to punctuation
    previous = "".join(before)[-1:]
    context = previous + text
    first_ok = _confirmed(context[:3], 1 if previous else 0, vocabulary)
    last_ok = not swallowed or syllable is not None or _confirmed(text[-2:], 1, vocabulary)
    pairs = sum(1 for i in range(len(context) - 1) if context[i : i + 2] in vocabulary.pairs)
    if not first_ok:
        text = _ILLEGIBLE + text[1:]
    if not last_ok:
        text = text[:-1] + _ILLEGIBLE
    quote = "”" if quote_open else "“"
    quotes = sum(1 for c in text if c == quote)
    common = sum(min(vocabulary.chars[c], 5) for c in text)
    return _Reading(text, (first_ok + last_ok, pairs, quotes, common))


def _confirmed(context: str, at: int, vocabulary: _Vocabulary) -> bool:
    """A character is confirmed as punctuation, by a neighbour the article pairs it with
    elsewhere, or by occurring elsewhere at least twice."""
    char = context[at]
    if char in _PUNCTUATION:
        return True
    pairs = (context[at - 1 : at + 1] if at else "", context[at : at + 2])
    return any(len(p) == 2 and p in vocabulary.pairs for p in pairs) or \
        vocabulary.chars[char] >= 2


def _is_text(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or char in _PUNCTUATION or (char.isascii() and
                                                                   char.isalnum())


@cache
def _readings(char: str) -> frozenset[str]:
    from pypinyin import Style, pinyin

    return frozenset(pinyin(char, style=Style.TONE, heteronym=True)[0])


def _quote_open(text: str) -> bool:
    paragraph = text.rsplit("\n", 1)[-1]
    return paragraph.count("“") > paragraph.count("”")


def _fullwidth(char: str) -> str | None:
    """ASCII punctuation the page showed for a full-width form read out of step."""
    if "!" <= char <= "?" and not char.isalnum():
        return chr(ord(char) + 0xFEE0)
    return None


def _gbk(char: str) -> bytes | None:
    full = _fullwidth(char) if char.isascii() else None
    try:
        return (full or char).encode("gbk")
    except UnicodeEncodeError:
        return None

