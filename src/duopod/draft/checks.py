"""The checks a draft goes through, measured on the text, never trusted from the model.

- language: a turn's share of letters in the episode language's script (Han characters for
  Chinese, Latin letters otherwise); product codes such as H200 are let through;
- length: the spoken length at a measured speaking rate, against ``--minutes`` (15%);
- grounding: every number, product code, name (Latin-script, and in Chinese the people,
  places, organisations and brands jieba's tagger finds) and quoted claim of a
  model-written turn, and of the title and headings the model chose, is looked for in the
  article (traditional characters folded to simplified, so a simplified draft of a
  traditional article is matched);
- echo: a turn must not repeat the turn before it, nor any turn of an earlier movement
  (character-bigram overlap): movements are written one after another, each told what the
  ones before it said, and this is where a model that repeats itself anyway is caught.

Each problem names its turn (1-based, as ``--revise --turn`` counts)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..script.exchange import is_backchannel_text, is_cut_off

CHINESE_CHARS_PER_MINUTE = 175.0
"""Measured: the example episode scripts/2025-12-10-h200.md has 929 Han characters and its
published MP3 (tests/golden/feed.xml, espeak voices, with jingles and gaps) lasts 318 s."""
ENGLISH_WORDS_PER_MINUTE = 150.0
"""A common broadcast rate; not measured here (no English golden episode)."""
LENGTH_TOLERANCE = 0.15
ECHO_THRESHOLD = 0.5
"""Share of a turn's character bigrams that the previous turn already said."""
LANGUAGE_SHARE = 0.6

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_CODE = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z]+\d+[A-Za-z0-9]*|\d+[A-Za-z]+[A-Za-z0-9]*)"
                   r"(?![A-Za-z0-9])")
_NUMBER = re.compile(r"(?<![A-Za-z0-9.])\d+(?:[.,]\d+)?(?![A-Za-z0-9])")
_NAME = re.compile(r"(?<![A-Za-z])[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*(?![A-Za-z])")
_QUOTE = re.compile(r"[“「\"]([^”」\"]{4,})[”」\"]")


@dataclass(frozen=True)
class Problem:
    turn: int
    """1-based; 0: the draft as a whole."""
    check: str
    """language, length, grounding or echo."""
    message: str

    def line(self) -> str:
        where = f"turn {self.turn}" if self.turn else "draft"
        return f"{where}: {self.check}: {self.message}"


def is_chinese(language: str) -> bool:
    return language.lower().split("-")[0] in ("zh", "cmn", "yue")


def fold(text: str) -> str:
    """Text as it is compared: simplified, NFKC (full-width digits), case-folded, without
    spaces and punctuation."""
    import zhconv

    text = zhconv.convert(unicodedata.normalize("NFKC", text), "zh-hans")
    return "".join(c for c in text.casefold() if c.isalnum())


def language_share(text: str, language: str) -> float:
    """The share of ``text``'s letters written in ``language``'s script."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    if is_chinese(language):
        without_codes = _CODE.sub("", text)
        latin = sum(len(w) for w in _LATIN_WORD.findall(without_codes))
        han = len(_HAN.findall(text))
        return han / (han + latin) if han + latin else 0.0
    return sum(1 for c in letters if c.isascii() or unicodedata.name(c, "").startswith(
        "LATIN")) / len(letters)


def spoken_size(texts: list[str], language: str) -> int:
    """What is counted against the speaking rate: Han characters (Chinese) or words."""
    if is_chinese(language):
        return sum(len(_HAN.findall(t)) for t in texts)
    return sum(len(_LATIN_WORD.findall(t)) for t in texts)


def spoken_minutes(texts: list[str], language: str) -> float:
    rate = CHINESE_CHARS_PER_MINUTE if is_chinese(language) else ENGLISH_WORDS_PER_MINUTE
    return spoken_size(texts, language) / rate


def within_length(size: float, asked: float) -> bool:
    """``size`` is within LENGTH_TOLERANCE of ``asked``."""
    return abs(size - asked) <= LENGTH_TOLERANCE * asked


def size_unit(language: str) -> str:
    return "Chinese characters" if is_chinese(language) else "words"


def target_size(minutes: float, language: str) -> int:
    """Han characters (Chinese) or words for ``minutes`` of speech."""
    rate = CHINESE_CHARS_PER_MINUTE if is_chinese(language) else ENGLISH_WORDS_PER_MINUTE
    return round(minutes * rate)


_PROPER = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})
"""jieba's tags for proper nouns: people, transliterated and foreign names, places,
organisations, other proper nouns (brands, products)."""


_SENTENCE_START = re.compile(r"(?:^|[.!?。！？:;\"“”'‘’(\[]\s*|\n\s*)$")
_STARTERS_TEXT = """
    a an the this that these those there here it its i we you they he she me us them
    my our your their his her what why how when where who whom whose which whether
    so and but or nor yet if then now well yes no not also still just even only
    great good right sure okay ok exactly indeed really absolutely interesting true
    let don doesn didn isn aren wasn weren won wouldn couldn shouldn haven hasn
    is are was were be been do does did have has had can could will would should may
    might must shall in on at to for of from by with about after before during since
    as like because although though while once first second next finally today
    instead besides meanwhile however thanks thank imagine think say look see
"""
_ORDINARY_STARTERS = frozenset(_STARTERS_TEXT.split())
"""Words a sentence starts with in the ordinary way: capitalised there, they are not
names (a drafted "What happened?" was listed as an unsupported name). ``_NAME`` stops at
an apostrophe, so a contraction is listed as what it sees: "Don't" as "don". Only such a
word at a sentence's start is let go: "So Huawei" opening a sentence still names Huawei,
and an invented name opening one is still caught."""


def _names(text: str) -> list[str]:
    """Latin capitalised names, less an ordinary word capitalised for opening a sentence."""
    found = []
    for match in _NAME.finditer(text):
        name = match.group(0)
        opening = _SENTENCE_START.search(text[:match.start()]) is not None
        first, _, rest = name.partition(" ")
        if opening and fold(first) in _ORDINARY_STARTERS:
            name = rest.lstrip()  # "So Huawei" opening a sentence names Huawei
        if len(name) >= 2:
            found.append(name)
    return found


def claims(text: str) -> list[str]:
    """What a turn asserts that the article must back: numbers, codes, names (Latin
    capitalised ones, and Chinese proper nouns), quotes."""
    found: list[str] = []
    found += _CODE.findall(text)
    without_codes = _CODE.sub(" ", text)
    found += _NUMBER.findall(without_codes)
    found += _names(without_codes)
    found += chinese_names(text)
    found += _QUOTE.findall(text)
    return list(dict.fromkeys(found))


def chinese_names(text: str) -> list[str]:
    """The Chinese proper nouns of ``text`` (two characters or more) as jieba's
    part-of-speech tagger finds them: 黄仁勋, 特斯拉, 外交部."""
    if not _HAN.search(text):
        return []
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return [pair.word for pair in jieba.posseg.cut(text)
            if pair.flag in _PROPER and len(_HAN.findall(pair.word)) >= 2]


def unsupported(text: str, article: str, allowed: str = "") -> list[str]:
    """The claims of ``text`` found neither in the article nor in ``allowed`` (the show's own
    words: its title, the hosts' names, the date). Quotes are found when 80% of their
    characters' bigrams are in the article."""
    haystack = fold(article + " " + allowed)
    missing = []
    for claim in claims(text):
        folded = fold(claim)
        if not folded or folded in haystack:
            continue
        if len(folded) >= 6 and _bigram_share(folded, haystack) >= 0.8:
            continue
        missing.append(claim)
    return missing


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _bigram_share(text: str, haystack: str) -> float:
    mine = _bigrams(text)
    return len(mine & _bigrams(haystack)) / len(mine) if mine else 1.0


def echo(previous: str, text: str) -> float:
    """How much of ``text`` the previous turn already said (0..1)."""
    return _bigram_share(fold(text), fold(previous)) if fold(text) else 0.0


@dataclass(frozen=True)
class Checked:
    problems: list[Problem]
    minutes: float
    unsupported: int
    off_language: int


def check_turns(texts: list[str], written: list[bool], article: str, language: str,
                minutes: float | None, allowed: str = "",
                movements: list[int] | None = None) -> Checked:
    """Every check over a draft's turns; ``written[i]`` says the model wrote turn i (the
    greeting and sign-off come from show.toml and are not checked for grounding);
    ``movements[i]``, when given, the movement turn i belongs to: a turn is then also
    checked for echoes of every turn of the movements before its own."""
    problems: list[Problem] = []
    unsupported_count = off_language = 0
    for i, text in enumerate(texts, start=1):
        share = language_share(text, language)
        if share < LANGUAGE_SHARE:
            off_language += 1
            problems.append(Problem(i, "language", f"only {share:.0%} of the letters are in "
                                    f"{language}'s script"))
        if written[i - 1]:
            missing = unsupported(text, article, allowed)
            unsupported_count += len(missing)
            if missing:
                problems.append(Problem(i, "grounding", "not in the article: "
                                        + ", ".join(missing[:8])))
        if i > 1:
            overlap = echo(texts[i - 2], text)
            if overlap >= ECHO_THRESHOLD:
                problems.append(Problem(i, "echo", f"{overlap:.0%} of it repeats turn {i - 1}"))
            elif movements is not None and written[i - 1]:
                problems += _earlier_echo(texts, written, movements, i)
    spoken = spoken_minutes(texts, language)
    if minutes is not None and not within_length(spoken, minutes):
        problems.append(Problem(0, "length", f"about {spoken:.1f} min at "
                                f"{_rate(language)}, asked {minutes:g} min (±15%)"))
    return Checked(problems, spoken, unsupported_count, off_language)


def _earlier_echo(texts: list[str], written: list[bool], movements: list[int], turn: int
                  ) -> list[Problem]:
    """Turn ``turn`` (1-based) against the model's turns of the movements before its own:
    the most it repeats of one of them, when that is an echo."""
    mine = movements[turn - 1]
    earlier = [(echo(texts[j], texts[turn - 1]), j + 1) for j in range(turn - 2)
               if written[j] and movements[j] < mine]
    if not earlier:
        return []
    overlap, repeated = max(earlier)
    if overlap < ECHO_THRESHOLD:
        return []
    return [Problem(turn, "echo", f"{overlap:.0%} of it repeats turn {repeated}, in movement "
                    f"{movements[repeated - 1] + 1}")]


def _rate(language: str) -> str:
    return (f"{CHINESE_CHARS_PER_MINUTE:g} characters/min" if is_chinese(language)
            else f"{ENGLISH_WORDS_PER_MINUTE:g} words/min")


CONVERSATION_HINT = (
    "Sound like a conversation: now and then (two or three times an episode, no more) a "
    "host answers with a short backchannel on a turn of its own, one or two words such as "
    "嗯。, 对。 or Right., and the other host goes on; once in a while a host is cut off: "
    "end that turn with —— (Chinese) or — (English) and let the other host cut in.")
"""What the writers' room asks of the model so the mix has backchannels and cut-offs to
lay over each other (``script.exchange``); ``count_conventions`` holds it to "sparingly"."""
BACKCHANNELS_PER_TURNS = 8
"""At most one backchannel per this many turns (and at least one is always allowed)."""
INTERRUPTIONS_PER_TURNS = 15
"""At most one cut-off turn per this many turns (and at least one is always allowed)."""


@dataclass(frozen=True)
class Conventions:
    backchannels: int
    interruptions: int
    problems: list[Problem]


def count_conventions(texts: list[str], movements: list[int]) -> Conventions:
    """The draft's backchannels (a short reply between two turns of the other host, in one
    movement; turns alternate) and cut-off turns, with a problem when there are more than
    a conversation has: a draft that murmurs every other turn sounds like a tic."""
    backchannels = [i + 1 for i in range(1, len(texts) - 1)
                    if movements[i - 1] == movements[i] == movements[i + 1]
                    and is_backchannel_text(texts[i])]
    cut = [i + 1 for i in range(len(texts) - 1) if is_cut_off(texts[i])]
    problems = []
    for found, per, word in ((backchannels, BACKCHANNELS_PER_TURNS, "backchannels"),
                             (cut, INTERRUPTIONS_PER_TURNS, "cut-off turns")):
        most = max(1, len(texts) // per)
        if len(found) > most:
            problems.append(Problem(0, "conventions", f"{len(found)} {word} in "
                                    f"{len(texts)} turns (turns {', '.join(map(str, found))}):"
                                    f" at most {most}, where a listener would hear one"))
    return Conventions(len(backchannels), len(cut), problems)
