"""Show notes: keywords and key points drawn from the dialogue, and a conservative clean-up
of scraped source articles (for what we publish; the producer's file is never touched)."""

from __future__ import annotations

import html
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from ..text import contains_cjk, fix_cjk_punctuation, is_cjk, split_sentences
from .mojibake import repair_shifted_gbk

NOTES_VERSION = 1
"""Bump when the way notes are drawn changes, so cached notes are made again."""
KEYWORDS = 8
KEY_POINTS = 4
_FUNCTION_CHARS = set("的了是在和与我你他她它们这那也就都很吗呢吧啊呀嗯哦个有没不要说会能对")
_EN_STOP = frozenset("""a an and are as at be been but by can could did do does for from had has
have
he her his how i if in into is it its just like many more most much my no not now of on one or
our out over said she so some than that the their them then there these they this those to too
up us very was we were what when where which who why will with would you your yes okay right
well also get got really think know going today thanks thank let lets that's it's i'm good
morning welcome show listening next time see all run""".split())  # noqa: SIM905


@dataclass(frozen=True)
class ShowNotes:
    summary: str | None
    key_points: list[str]
    keywords: list[str]


@cache
def _jieba() -> object:
    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)
    return jieba


def keywords(text: str, exclude: tuple[str, ...] = (), count: int = KEYWORDS) -> list[str]:
    """The words that say what an episode is about (jieba TF-IDF for Chinese)."""
    if contains_cjk(text):
        return _chinese_keywords(text, exclude, count)
    return _english_keywords(text, exclude, count)


def _chinese_keywords(text: str, exclude: tuple[str, ...], count: int) -> list[str]:
    jieba = _jieba()
    for term in _recurring_terms(text):
        jieba.add_word(term)  # type: ignore[attr-defined]
    for name in exclude:
        jieba.add_word(name)  # type: ignore[attr-defined]
    ranked = jieba.analyse.extract_tags(text, topK=count * 3)  # type: ignore[attr-defined]
    skip = {e.lower() for e in exclude}
    return [w for w in ranked if w.lower() not in skip and not w.isdigit() and len(w) > 1][:count]


def _recurring_terms(text: str) -> list[str]:
    """Chinese runs of 3-4 characters that recur: names the stock dictionary lacks
    (英伟达, 寒武纪) would otherwise be cut in pieces."""
    counts: Counter[str] = Counter()
    for run in re.findall(r"[\u4e00-\u9fff]{3,}", text):
        for size in (3, 4):
            for i in range(len(run) - size + 1):
                gram = run[i : i + size]
                if not _FUNCTION_CHARS.intersection(gram):
                    counts[gram] += 1
    return [gram for gram, n in counts.items() if n >= 3]


def _english_keywords(text: str, exclude: tuple[str, ...], count: int) -> list[str]:
    skip = {e.lower() for e in exclude}
    words = re.findall(r"[A-Za-z][A-Za-z0-9'-]+", text)
    counts = Counter(w.lower() for w in words if w.lower() not in _EN_STOP | skip and len(w) > 2)
    display: dict[str, str] = {}
    for word in words:
        display.setdefault(word.lower(), word)
    ranked = sorted(counts, key=lambda w: (-counts[w] * (1 + math.log(len(w))), w))
    return [display[w] for w in ranked[:count]]


def key_points(sentences: list[str], words: list[str], count: int = KEY_POINTS) -> list[str]:
    """The most central sentences: those carrying the most of the episode's keywords,
    in the order they were said. Greetings and sign-offs (first and last) are skipped."""
    if len(sentences) <= 2:
        return sentences[:count]
    weights = {w: len(words) - i for i, w in enumerate(words)}
    scored = []
    for index, sentence in enumerate(sentences[1:-1], start=1):
        score = sum(weight for word, weight in weights.items() if word in sentence)
        length = len(sentence)
        if score and 8 <= length <= 160:
            scored.append((score / math.log(2 + length), index))
    best = sorted(sorted(scored, reverse=True)[:count], key=lambda pair: pair[1])
    return [sentences[i] for _score, i in best]


def show_notes(summary: str | None, sentences: list[str], hosts: tuple[str, ...]) -> ShowNotes:
    text = "".join(sentences) if contains_cjk("".join(sentences)) else " ".join(sentences)
    words = keywords(text, exclude=hosts)
    return ShowNotes(summary, key_points(sentences, words), words)


# ---------------------------------------------------------------- source articles

_TONE_MARKS = set("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü")
_ROMANISATION = re.compile(r"([\u4e00-\u9fff□])\(([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\d?)\)")
_TAGS = re.compile(r"(?:<|\?|(?<![A-Za-z]))br\s*/?>|</?p\s*>", re.IGNORECASE)


def clean_article(text: str) -> str:
    """Undo the usual damage of scraped Chinese articles, conservatively:

    - GBK read one byte out of step (``表示?!拔翌A`` -> ``表示。“我預``), see ``mojibake``;
      what no reading explains is marked □ rather than guessed;
    - romanisation pasted after characters, 說(shuō) -> 說 (only tone-marked or numbered
      syllables, so (AI) or (H200) stay);
    - a '?' that stands where a closing quote was lost, inside a quotation that is never
      closed before the paragraph ends;
    - ASCII punctuation typed inside Chinese text, turned full-width;
    - line-break and paragraph tags left by the scraper (<br/>, <p>, or ?br/> once its '<'
      was lost), and HTML entities (&nbsp;, &amp;).
    """
    text = repair_shifted_gbk(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _TAGS.sub("\n", text)
    text = html.unescape(text).replace("\u00a0", " ")
    paragraphs = []
    for paragraph in text.split("\n"):
        paragraph = _ROMANISATION.sub(_drop_romanisation, paragraph)
        paragraph = _restore_closing_quotes(paragraph)
        paragraphs.append(fix_cjk_punctuation(paragraph.strip()))
    _move_stray_opening_quotes(paragraphs)
    inside_quote = False  # a quotation may run on into the next paragraph
    for i, paragraph in enumerate(paragraphs):
        if not contains_cjk(paragraph):
            paragraphs[i] = _unglue(paragraph, inside_quote)
        inside_quote ^= paragraph.count('"') % 2 == 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(paragraphs)).strip()


_GLUED_SENTENCE = re.compile(r"(?<=[a-z][.!?])(?=[A-Z][a-z])")
_GLUED_QUOTE = re.compile(r'(?<=[A-Za-z][.!?,])"(?=["A-Z])')


def _unglue(paragraph: str, inside_quote: bool = False) -> str:
    """English sentences a scraper ran together get their space back: 'Huang.Chesnot',
    'military.""This', 'predecessor."The' (an opening quote: the space goes before it).
    'U.S.', 'e.g.' and 'Node.js' do not match."""
    paragraph = _GLUED_SENTENCE.sub(" ", paragraph)
    out = []
    last = 0
    for match in _GLUED_QUOTE.finditer(paragraph):
        opens = (paragraph.count('"', 0, match.start()) + inside_quote) % 2 == 0
        out.append(paragraph[last : match.start()])
        out.append(' "' if opens else '" ')
        last = match.end()
    out.append(paragraph[last:])
    return "".join(out)


def _move_stray_opening_quotes(paragraphs: list[str]) -> None:
    """A paragraph that ends in an unmatched '"' took the opening quote of the next one
    (which is then unmatched too): give it back."""
    for i in range(len(paragraphs) - 1):
        here = paragraphs[i]
        following = next((j for j in range(i + 1, len(paragraphs)) if paragraphs[j]), None)
        if following is None or not here.endswith('"') or here.count('"') % 2 == 0:
            continue
        if paragraphs[following].count('"') % 2 == 1:
            paragraphs[i] = here[:-1].rstrip()
            paragraphs[following] = '"' + paragraphs[following]


def _drop_romanisation(match: re.Match[str]) -> str:
    syllable = match.group(2)
    if _TONE_MARKS.intersection(syllable) or syllable[-1:].isdigit():
        return match.group(1)
    return match.group(0)


def _restore_closing_quotes(paragraph: str) -> str:
    out = []
    open_quote = False
    for i, char in enumerate(paragraph):
        if char == "“":
            open_quote = True
        elif char == "”":
            open_quote = False
        elif char == "?" and open_quote and i > 0 and is_cjk(paragraph[i - 1]):
            rest = paragraph[i + 1 :]
            closes_later = "”" in rest.split("“", 1)[0]
            if not closes_later:
                out.append("”" if rest[:1] in ("。", "！", "？") else "。”")
                open_quote = False
                continue
        out.append(char)
    return "".join(out)


def sentences_of(turn_texts: list[str]) -> list[str]:
    return [s for text in turn_texts for s in split_sentences(text)]
