"""A lexicon entry to try for a term the listener did not hear: what to ask the voice to
say instead. These are starting points the producer accepts or edits (``duopod verify
--fix`` asks before writing any), not translations: a brand name's Chinese form
("DeepSeek" = "深度求索") is the producer's to know, so a plain English word gets none.

In a Chinese episode a Mandarin voice reads Latin letters poorly ("H" comes out as "Air"),
so letters are given the Chinese names Mandarin speakers use for them (H: 艾尺), and
digits a Chinese reading (20: 二十; a longer run digit by digit: 六七一). In other
languages letters are spaced out to be spelled and short numbers written as words.
"""

from __future__ import annotations

import re

from ..labels import is_chinese

__all__ = ["respelled"]

LETTERS_ZH = {
    "A": "诶", "B": "比", "C": "西", "D": "迪", "E": "伊", "F": "艾弗", "G": "吉", "H": "艾尺",
    "I": "艾", "J": "杰", "K": "开", "L": "艾勒", "M": "艾姆", "N": "艾恩", "O": "欧", "P": "披",
    "Q": "丘", "R": "阿尔", "S": "艾斯", "T": "提", "U": "优", "V": "维", "W": "达布溜",
    "X": "艾克斯", "Y": "歪", "Z": "贼德",
}
_DIGITS_ZH = "零一二三四五六七八九"
_ONES_EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
            "seventeen", "eighteen", "nineteen"]
_TENS_EN = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_PIECE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^A-Za-z0-9]+")


def _number_zh(digits: str) -> str:
    """Up to two digits as a number ("20": 二十, "7": 七), whole hundreds too ("200":
    两百); otherwise, or with a leading zero, digit by digit (product codes are read so:
    "671": 六七一)."""
    if len(digits) == 3 and digits[0] != "0" and digits.endswith("00"):
        return ("两" if digits[0] == "2" else _DIGITS_ZH[int(digits[0])]) + "百"
    if len(digits) > 2 or (len(digits) == 2 and digits[0] == "0"):
        return "".join(_DIGITS_ZH[int(d)] for d in digits)
    value = int(digits)
    if value < 10:
        return _DIGITS_ZH[value]
    tens, ones = divmod(value, 10)
    return ("" if tens == 1 else _DIGITS_ZH[tens]) + "十" + (_DIGITS_ZH[ones] if ones else "")


def _number_en(digits: str) -> str:
    if len(digits) > 2 or (len(digits) == 2 and digits[0] == "0"):
        return " ".join(_ONES_EN[int(d)] for d in digits)
    value = int(digits)
    if value < 20:
        return _ONES_EN[value]
    tens, ones = divmod(value, 10)
    return _TENS_EN[tens - 2] + (f"-{_ONES_EN[ones]}" if ones else "")


def _is_word(piece: str) -> bool:
    """A run of letters read as a word rather than spelled: lower case, or a capital
    and lower case ("Seek"), longer than one letter."""
    return len(piece) > 1 and not piece.isupper()


def respelled(term: str, language: str) -> str | None:
    """The spoken form to suggest for ``term``, or None when there is nothing better to
    offer than the producer's own knowledge (a term made of plain words)."""
    pieces = _PIECE.findall(term)  # "DeepSeek-R1" -> Deep, Seek, -, R, 1
    if all(_is_word(p) or not p.isalnum() for p in pieces):
        return None
    chinese = is_chinese(language)
    spoken = []
    for piece in pieces:
        if piece.isdigit():
            spoken.append(_number_zh(piece) if chinese else _number_en(piece))
        elif piece.isalpha() and not _is_word(piece):
            spoken.append("".join(LETTERS_ZH[c.upper()] for c in piece) if chinese
                          else " ".join(piece.upper()))
        elif piece.isalpha():
            spoken.append(piece)
    return ("" if chinese else " ").join(spoken)
