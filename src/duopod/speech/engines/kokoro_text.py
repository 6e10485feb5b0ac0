"""Kokoro's front end: text to the phoneme strings (and token ids) the model reads.

Kokoro v1.0 reads IPA-like phonemes from a fixed 114-symbol vocabulary. Mandarin goes
through misaki's ``ZHG2P`` in its v1.0 ("legacy") mode, which needs only jieba, pypinyin
and cn2an (not ``misaki[zh]``'s large dictionary). English goes through espeak-ng, which
duopod already loads in-process, with its IPA mapped onto the symbols Kokoro was trained
on (the model never saw espeak's diphthong spellings or ``r``).

A Mandarin tech show is full of Latin tokens ("H200", "RTX 6000", "DeepSeek-R1 671B"):
misaki would pass those through as raw letters, which are not phonemes, so model codes
are normalised first (digits read in Chinese the way people say them, capitals spelled
letter by letter, words read as English).
"""

from __future__ import annotations

import ctypes
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from importlib.resources import files

MAX_TOKENS = 510
"""The model's longest input (its style table has one row per length up to this)."""

_ESPEAK_IPA = 0x02
_ESPEAK_TIE = 0x80
_TIE = "^"
_CHARS_UTF8 = 1

_ESPEAK_TO_KOKORO: tuple[tuple[str, str], ...] = tuple(sorted({
    "a^ɪ": "I", "a^ʊ": "W", "e^ɪ": "A", "o^ʊ": "O", "ɔ^ɪ": "Y",
    "d^ʒ": "ʤ", "t^ʃ": "ʧ", "ə^l": "ᵊl",
    "ɚ": "əɹ", "r": "ɹ", "ɐ": "ə", "x": "k", "ç": "k", "ɬ": "l",
    "ɾ": "T", "ʔ": "t", "ɜː": "ɜɹ", "ɪə": "iə", "ː": "", "ʲ": "", "\u0303": "",
}.items(), key=lambda pair: -len(pair[0])))
"""espeak-ng's American IPA onto Kokoro's symbols: diphthongs and affricates are single
symbols there, rhotics are ``ɹ``, length marks are dropped (American voices are trained
without them). Longest first, so ``a^ɪ`` is taken before ``ɪ`` could be."""

_LETTERS = {
    "A": "ˈA", "B": "bˈi", "C": "sˈi", "D": "dˈi", "E": "ˈi", "F": "ˈɛf", "G": "ʤˈi",
    "H": "ˈAʧ", "I": "ˈI", "J": "ʤˈA", "K": "kˈA", "L": "ˈɛl", "M": "ˈɛm", "N": "ˈɛn",
    "O": "ˈO", "P": "pˈi", "Q": "kjˈu", "R": "ˈɑɹ", "S": "ˈɛs", "T": "tˈi", "U": "jˈu",
    "V": "vˈi", "W": "dˈʌbᵊljˌu", "X": "ˈɛks", "Y": "wˈI", "Z": "zˈi",
}
"""English letter names, for spelling acronyms and model codes ("RTX", "H", "GB")."""

_UNITS = frozenset({"GB", "TB", "MB", "KB", "PB", "GHZ", "MHZ", "HZ", "NM", "W", "KW", "MW",
                    "G", "K", "M", "T", "MS", "S", "FPS", "TOPS", "TFLOPS", "PFLOPS"})
"""Suffixes that make a number a quantity ("141GB": a hundred and forty-one), not a code."""

_CLAUSE_BREAK = re.compile(r"(?<=[，,；;：:、—])")
_LATIN_CODE = re.compile(
    r"[A-Za-z]+(?:[A-Za-z0-9.]*[A-Za-z0-9])?"  # H200, GPT4.5, RTX
    r"|\d+(?:\.\d+)?[A-Za-z]+[A-Za-z0-9]*"  # 671B, 141GB
)
_CODE_PARTS = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")
_NUMBER_AFTER_CODE = re.compile(r"(?<=[A-Za-z]) (\d+(?:\.\d+)?)(?![\d.]*[%年月日号])")
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z']*")
_PUNCTUATION_BREAK = re.compile(r"([,.;:!?]+)(?=\s|$)")
"""Clause punctuation, but not a number's comma or point ("2,000", "3.5")."""


@cache
def vocabulary() -> dict[str, int]:
    """Kokoro v1.0's phoneme symbol -> token id (from the model's own config)."""
    text = files(__package__).joinpath("kokoro_voices/vocab.json").read_text(encoding="utf-8")
    return {symbol: int(token) for symbol, token in json.loads(text).items()}


def to_tokens(phonemes: str) -> list[int]:
    """Token ids for ``phonemes``; symbols outside the vocabulary are dropped (the model
    cannot say them, and one stray symbol must not stop an episode)."""
    vocab = vocabulary()
    return [vocab[symbol] for symbol in phonemes if symbol in vocab]


# --- English: espeak-ng -------------------------------------------------------------

def english_phonemes(text: str) -> str:
    """Kokoro phonemes for English ``text`` through espeak-ng's American voice, with the
    text's clause punctuation kept (espeak-ng drops it, and Kokoro pauses on it)."""
    pieces = []
    for index, part in enumerate(_PUNCTUATION_BREAK.split(text)):
        if index % 2:  # the captured mark
            pieces.append(part[0])
        elif part.strip():
            pieces.append(_map_espeak(_espeak_ipa(part.strip())))
    return _tidy(" ".join(pieces))


def _map_espeak(ipa: str) -> str:
    for old, new in _ESPEAK_TO_KOKORO:
        ipa = ipa.replace(old, new)
    return ipa.replace(_TIE, "")


def _espeak_ipa(text: str) -> str:
    """espeak-ng's IPA for ``text`` (American English), phoneme ties marked with ``^``."""
    from .espeak_library import library

    lib = library()
    function = lib.lib.espeak_TextToPhonemes
    function.restype = ctypes.c_char_p
    function.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    mode = _ESPEAK_IPA | _ESPEAK_TIE | (ord(_TIE) << 8)
    buffer = ctypes.create_string_buffer(text.encode("utf-8"))
    pointer = ctypes.c_void_p(ctypes.addressof(buffer))
    clauses = []
    with lib.lock:
        if not lib.set_voice("en-us"):
            return ""
        while pointer.value:
            result = function(ctypes.byref(pointer), _CHARS_UTF8, mode)
            if result:
                clauses.append(result.decode("utf-8", errors="replace").strip())
    return " ".join(c for c in clauses if c)


def spell(letters: str) -> str:
    """An acronym letter by letter ("RTX" -> R T X)."""
    return " ".join(_LETTERS[c] for c in letters.upper() if c in _LETTERS)


def latin_phonemes(word: str) -> str:
    """A Latin word inside Mandarin: capitals of up to five letters and single letters are
    spelled (RTX, GB, AI, H), anything else is read as an English word (DeepSeek)."""
    if len(word) == 1 or (word.isupper() and len(word) <= 5):
        return spell(word)
    return english_phonemes(word)


# --- Mandarin: misaki ----------------------------------------------------------------

@cache
def _zh_g2p() -> Callable[[str], tuple[str, object]]:
    """misaki's Mandarin G2P in the v1.0 mode the Kokoro v1.0 voices were trained with."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    from misaki.zh import ZHG2P

    g2p: Callable[[str], tuple[str, object]] = ZHG2P()
    return g2p


def chinese_number(digits: str) -> str:
    """A number as said in Chinese ("200" -> 两百, "3.5" -> 三点五)."""
    import cn2an

    said = cn2an.an2cn(digits, "low")
    return re.sub(r"^二(?=[百千万亿])", "两", said)


def digit_by_digit(digits: str) -> str:
    return "".join("零一二三四五六七八九"[int(d)] if d.isdigit() else "点" for d in digits)


def code_number(digits: str, suffix: str = "") -> str:
    """A number inside a model code as people say it: small or round numbers by value
    (H20, H200, RTX 6000), quantities by value (141GB), the rest digit by digit (671B,
    4090)."""
    if suffix.upper() in _UNITS or "." in digits:
        return chinese_number(digits)
    round_number = len(digits) <= 4 and digits[1:].strip("0") == ""
    if len(digits) <= 2 or round_number:
        return chinese_number(digits)
    return digit_by_digit(digits)


def normalise_codes(text: str) -> str:
    """Model codes in Mandarin text with their digits in Chinese and hyphens as pauses:
    "DeepSeek-R1 671B" -> "DeepSeek R一 六七一B", "RTX 6000" -> "RTX 六千"."""
    text = re.sub(r"(?<=[A-Za-z0-9])-(?=[A-Za-z0-9])", " ", text)
    text = _NUMBER_AFTER_CODE.sub(lambda m: " " + code_number(m.group(1)), text)
    return _LATIN_CODE.sub(lambda m: _normalise_code(m.group(0)), text)


def _normalise_code(code: str) -> str:
    parts = _CODE_PARTS.findall(code)
    out = []
    for index, part in enumerate(parts):
        if part[0].isdigit():
            suffix = parts[index + 1] if index + 1 < len(parts) else ""
            out.append(code_number(part, suffix))
        else:
            out.append(part)
    return "".join(out)


def mandarin_phonemes(text: str) -> str:
    """Kokoro phonemes for Mandarin ``text``, Latin words and codes included."""
    text = normalise_codes(text)
    g2p = _zh_g2p()
    pieces = []
    cursor = 0
    for match in _LATIN_RUN.finditer(text):
        pieces.append(g2p(text[cursor:match.start()])[0])
        pieces.append(latin_phonemes(match.group(0)))
        cursor = match.end()
    pieces.append(g2p(text[cursor:])[0])
    return _tidy(" ".join(p for p in pieces if p.strip()))


def _tidy(phonemes: str) -> str:
    phonemes = re.sub(r"\s+", " ", phonemes).strip()
    return re.sub(r" (?=[,.;:!?])", "", phonemes)


# --- fitting the model's input --------------------------------------------------------

def phonemiser(language: str) -> Callable[[str], str]:
    """The front end for a Kokoro language code ("z" Mandarin, "a"/"b" English)."""
    return mandarin_phonemes if language == "z" else english_phonemes


def fitted_chunks(sentence: str, phonemise: Callable[[str], str],
                  limit: int = MAX_TOKENS) -> Iterator[str]:
    """``sentence`` as phoneme strings of at most ``limit`` tokens each: whole if it fits,
    else cut at clause punctuation (packing clauses greedily), and a clause that alone is
    too long at word gaps, as a last resort."""
    whole = phonemise(sentence)
    if len(to_tokens(whole)) <= limit:
        if whole.strip():
            yield whole
        return
    current = ""
    for clause in (c for c in _CLAUSE_BREAK.split(sentence) if c.strip()):
        said = phonemise(clause)
        joined = f"{current} {said}".strip()
        if len(to_tokens(joined)) <= limit:
            current = joined
            continue
        if current:
            yield current
        current = ""
        if len(to_tokens(said)) <= limit:
            current = said
        else:
            yield from _cut_at_gaps(said, limit)
    if current:
        yield current


def _cut_at_gaps(phonemes: str, limit: int) -> Iterator[str]:
    current = ""
    for word in phonemes.split(" "):
        joined = f"{current} {word}".strip()
        if len(to_tokens(joined)) <= limit:
            current = joined
            continue
        if current:
            yield current
        while len(to_tokens(word)) > limit:  # one "word" longer than the model's input
            yield word[:limit]
            word = word[limit:]
        current = word
    if current:
        yield current
