"""Text rules shared by every stage: cleaning, Chinese-aware sentence splitting, slugs."""

from __future__ import annotations

import contextlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..disk.atomic import write_atomically

_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
)
_CJK_PUNCT = "，。！？；：、“”‘’（）《》【】「」『』…—～·"


def is_cjk(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def is_cjk_or_cjk_punct(char: str) -> bool:
    return is_cjk(char) or char in _CJK_PUNCT


def contains_cjk(text: str) -> bool:
    return any(is_cjk(c) for c in text)


# C0/C1 controls (tab and newline aside), lone surrogates, and the invisible format marks
# that scraped text drags along (zero-width spaces, bidi overrides, BOMs).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200b\u200e\u200f\u202a-\u202e"
    "\u2066-\u2069\ufeff]"
)


def strip_invisible(text: str) -> str:
    """Remove control characters and invisible format marks, keeping tabs and line ends."""
    return _INVISIBLE.sub("", text)


# What a damaged page leaves in words and no voice can say: a lost character shown as a box
# or a replacement mark, a control character, the page's own markup. A script that has one
# is refused at its line (``script.parse``); a draft's turns have them taken out, listed.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LOST = {"\ufffd": "a replacement character (U+FFFD, text decoded wrongly)",
         "\u25a1": "a white square (U+25A1, a character the page could not show)",
         "\u2610": "a ballot box (U+2610, a character the page could not show)"}
_MARKUP = re.compile(
    r"</?(?:a|b|br|div|em|font|h[1-6]|i|img|li|ol|p|script|span|strong|style|table|td|tr|ul)"
    r"(?:\s[^<>]*)?/?>|&(?:nbsp|amp|lt|gt|quot|apos|ldquo|rdquo|mdash|hellip|#\d{2,7}|"
    r"#x[0-9a-fA-F]{2,6});", re.IGNORECASE)


def not_text(line: str) -> list[str]:
    """What in ``line`` is not text to be spoken, each described once ("a white square
    (U+25A1 ...)", "markup '<br/>'"); empty when the line is all text."""
    found: list[str] = []
    for char in dict.fromkeys(c for c in line if c in _LOST):
        found.append(_LOST[char])
    for char in dict.fromkeys(_CONTROL.findall(line)):
        found.append(f"a control character (U+{ord(char):04X})")
    found += [f"markup {tag!r}" for tag in dict.fromkeys(_MARKUP.findall(line))]
    return found


def without_non_text(text: str) -> str:
    """``text`` with what ``not_text`` finds taken out (markup tags and entities, boxes,
    replacement marks, control characters)."""
    text = _MARKUP.sub(" ", text)
    text = _CONTROL.sub("", text)
    return "".join(c for c in text if c not in _LOST)


def clean_line(line: str) -> str:
    """Strip what real files carry around a line: invisible marks and (full-width) spaces."""
    line = _INVISIBLE.sub("", line)
    return line.replace("\u3000", " ").strip()


_ASCII_TO_FULL = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}


def fix_cjk_punctuation(text: str) -> str:
    """Turn ASCII , ? ! : ; typed inside Chinese text into their full-width forms.

    Only punctuation touching a Chinese character (or Chinese punctuation) on either
    side changes, so ``10:30``, ``1,000`` and English sentences keep theirs.
    """
    if not contains_cjk(text):
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        full = _ASCII_TO_FULL.get(char)
        if char == "." and i > 0 and is_cjk(text[i - 1]) and (
            i + 1 == len(text) or is_cjk(text[i + 1])
        ):
            full = "。"  # a period between Chinese characters (3.5 and R1.0 keep theirs)
            out.append(full)
            continue
        if full is None:
            out.append(char)
            continue
        before = text[i - 1] if i > 0 else ""
        after = text[i + 1 : i + 2]
        if after == " ":
            after = text[i + 2 : i + 3]
        touches_cjk = (before and is_cjk_or_cjk_punct(before)) or (
            after and is_cjk_or_cjk_punct(after)
        )
        if touches_cjk:
            out.append(full)
            # the space typed after ASCII punctuation does not belong in Chinese text
            if text[i + 1 : i + 2] == " " and after and is_cjk(after):
                out.append("\0")
        else:
            out.append(char)
    return "".join(out).replace("\0 ", "").replace("\0", "")


_SENTENCE_END = "。！？!?…"
_CLOSERS = "”’\"'』」）)】》"
_CLAUSE_MARKS = "，、；：,;:"


def split_sentences(text: str) -> list[str]:
    """Split text at sentence ends (Chinese and English), keeping closing quotes attached."""
    sentences: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        ends = char in _SENTENCE_END or (char == "." and _is_english_period(text, i))
        if not ends:
            i += 1
            continue
        i += 1
        while i < n and (text[i] in _SENTENCE_END or text[i] in _CLOSERS or text[i] == "."):
            i += 1
        piece = text[start:i].strip()
        if piece:
            sentences.append(piece)
        start = i
    tail = text[start:].strip()
    if tail:
        if sentences and not _has_words(tail):
            sentences[-1] += tail
        else:
            sentences.append(tail)
    return sentences


def _is_english_period(text: str, i: int) -> bool:
    """A '.' ends a sentence when it follows a word and precedes a space or the end."""
    after = text[i + 1 : i + 2]
    if after and not after.isspace() and not is_cjk(after):
        return False  # 3.5, example.com, R1.0
    before = text[i - 1] if i > 0 else ""
    return bool(before) and (before.isalpha() or before in _CLOSERS or before.isdigit())


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)


def split_clauses(sentence: str) -> list[str]:
    """Split one sentence after clause marks (，、；：) for when a sentence is too long."""
    parts = re.split(f"(?<=[{re.escape(_CLAUSE_MARKS)}])", sentence)
    return [p for p in (p.strip() for p in parts) if p]


def join_text(left: str, right: str) -> str:
    """Two stretches of text as one: a space between Latin neighbours, nothing between
    Chinese ones (nor between Chinese and Latin, as Chinese writes them)."""
    if not left or not right:
        return left or right
    return left + (" " if left[-1].isascii() and right[0].isascii() else "") + right


def pack(parts: Iterable[str], limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Consecutive ``parts`` joined (``join_text``) into as few pieces as stay within
    ``limit`` by ``measure``; a part over the limit is a piece of its own, so callers cut
    parts to size first. Speech requests (bytes) and subtitle cues (columns) are packed so."""
    pieces: list[str] = []
    current = ""
    for part in parts:
        joined = join_text(current, part)
        if current and measure(joined) > limit:
            pieces.append(current)
            current = part
        else:
            current = joined
    if current:
        pieces.append(current)
    return pieces


def display_width(text: str) -> int:
    """Columns a string takes: Chinese characters and full-width forms count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


_SLUG_MAX = 80


@dataclass(frozen=True)
class PinyinMemo:
    """Where ``romanised`` remembers its answers (the show's cache), and whether this
    caller adds to it: a check that only looks (the studio's typing) reads, never writes."""

    path: Path
    remember: bool = True


def slugify(title: str, date: str | None = None, memo: Path | PinyinMemo | None = None
            ) -> str:
    """An ASCII slug: Chinese becomes pinyin, everything else is folded to [a-z0-9-].
    ``memo``: see ``romanised``."""
    ascii_text = " ".join(romanised(title, memo))
    ascii_text = unicodedata.normalize("NFKD", ascii_text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = _truncate_at_hyphen(slug, _SLUG_MAX)
    if date:
        slug = f"{date}-{slug}" if slug else date
    return slug or "episode"


_MEMO_ENTRIES = 5000


def romanised(text: str, memo: Path | PinyinMemo | None = None) -> list[str]:
    """``text`` as pinyin syllables (other characters as they are), read by phrase so that
    a character with several readings gets the one its word needs.

    pypinyin's phrase dictionary takes a quarter of a second to load, most of what
    ``duopod check`` spends, so answers are remembered in ``memo`` (a JSON file in the
    show's cache, keyed by pypinyin's version): a title seen before loads no dictionary.
    The memo is only ever a shortcut; a damaged or missing one is read as empty."""
    if memo is None:
        return _pinyin(text)
    memo = memo if isinstance(memo, PinyinMemo) else PinyinMemo(memo)
    from importlib.metadata import version

    key = f"{version('pypinyin')}\n{text}"
    known = _read_memo(memo.path)
    if isinstance(words := known.get(key), list) and all(isinstance(w, str) for w in words):
        return words
    words = _pinyin(text)
    if memo.remember:
        known[key] = words
        kept = dict(list(known.items())[-_MEMO_ENTRIES:])
        with contextlib.suppress(OSError):
            write_atomically(memo.path, json.dumps(kept, ensure_ascii=False).encode())
    return words


def _pinyin(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin  # its dictionaries take a while: load on use

    return lazy_pinyin(text, style=Style.NORMAL, errors="default")


def _read_memo(memo: Path) -> dict[str, object]:
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _truncate_at_hyphen(slug: str, limit: int) -> str:
    if len(slug) <= limit:
        return slug
    cut = slug[:limit]
    if "-" in cut:
        cut = cut[: cut.rindex("-")]
    return cut.strip("-")


SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$")


def is_valid_slug(slug: str) -> bool:
    return bool(SLUG_PATTERN.match(slug))
