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

import numpy as np

from . import contains_cjk, fix_cjk_punctuation, is_cjk, split_sentences
from .mojibake import repair_shifted_gbk
from .written import WrittenSummary

NOTES_VERSION = 2
"""Bump when the way notes are drawn changes, so cached notes are made again."""
KEYWORDS = 8
KEY_POINTS = 4
_KEY_POINT_CHARS = (8, 160)
_FUNCTION_CHARS = set("的了是在和与我你他她它们这那也就都很吗呢吧啊呀嗯哦个有没不要说会能对")

def _word_set(text: str) -> frozenset[str]:
    """Word lists below are written as text: one space-separated block reads better."""
    return frozenset(text.split())


# stopwords-iso (the stopwordsiso package) is the well-kept list for both languages; what
# it lacks is the talk of a talk show: fillers and hedges that fill every episode and say
# nothing about it.
_ZH_SPOKEN_STOP = _word_set("""
这个 那个 这些 那些 其实 已经 觉得 现在 今天 大家 一下 时候 东西 比如 可能 还是 真的 就是
所以 因为 但是 而且 不过 然后 当然 我们 你们 他们 它们 一点 有点 怎么 这么 那么 这样 那样
非常 特别 一些 一样 之前 以后 之后 来说 来看 看看 说说 聊聊 问题 事情 地方 方面 意思 感觉
知道 应该 需要 没有 不是 可以 能够 起来 出来 下来 接下来 首先 第一 第二 第三 最后 一个 两个
还有 或者 以及 一定 简单 先说 再说 今天 欢迎 收听 谢谢 再见 节目 早上好 大家好 下期
""")
_EN_SPOKEN_STOP = _word_set("""
yeah yep okay ok gonna wanna kinda sorta lot lots thing things stuff way really actually
basically literally pretty today tonight episode show listening thanks welcome morning bye
let's that's it's i'm you're we're they're there's here's what's don't doesn't didn't can't
won't isn't aren't wasn't weren't i've we've you've i'd we'd you'd i'll we'll you'll
""")


@dataclass(frozen=True)
class ShowNotes:
    summary: str | None
    key_points: list[str]
    keywords: list[str]
    written: WrittenSummary | None = None
    """The model-written summary when there is one; the extractive notes stay beside it
    (and are all there is without a model)."""


@cache
def _jieba() -> object:
    import jieba
    import jieba.analyse

    jieba.setLogLevel(logging.WARNING)
    return jieba


def load_dictionaries() -> None:
    """Load now what the first notes would otherwise load (jieba's word list and TF-IDF
    weights, the stop words): a process that forks build workers does it once for all."""
    _jieba().initialize()  # type: ignore[attr-defined]
    stop_words("zh")
    stop_words("en")


@cache
def stop_words(language: str) -> frozenset[str]:
    """Words never worth a keyword in ``language`` ("zh" or "en"): stopwords-iso's list and
    the spoken fillers it lacks."""
    import stopwordsiso

    spoken = _ZH_SPOKEN_STOP if language == "zh" else _EN_SPOKEN_STOP
    return frozenset(w.lower() for w in stopwordsiso.stopwords(language)) | spoken


def _is_stop(word: str) -> bool:
    folded = word.lower().replace("\u2019", "'")
    return folded in stop_words("zh") or folded in stop_words("en")


def keywords(text: str, exclude: tuple[str, ...] = (), count: int = KEYWORDS) -> list[str]:
    """The words that say what an episode is about (jieba TF-IDF for Chinese, weighted
    counts for English), never a stop word nor a word of ``exclude`` (the show's title and
    the hosts' names: on every episode, they tell nothing about this one)."""
    if contains_cjk(text):
        ranked = _chinese_keywords(text, exclude, count * 4)
    else:
        ranked = _english_keywords(text, count * 4)
    wanted = [w for w in ranked if not _is_stop(w) and not _excluded(w, exclude)]
    return wanted[:count]


def _excluded(word: str, exclude: tuple[str, ...]) -> bool:
    """True when ``word`` is one of the excluded names or part of one (芯闻 of 芯闻两人谈),
    or one of an excluded title's words (Open of "Open Weights Weekly")."""
    folded = word.lower()
    for phrase in exclude:
        phrase = phrase.lower()
        if folded == phrase or (contains_cjk(folded) and (folded in phrase or phrase in folded)):
            return True
        if folded in re.findall(r"[a-z0-9][a-z0-9'-]*", phrase):
            return True
    return False


def _chinese_keywords(text: str, exclude: tuple[str, ...], count: int) -> list[str]:
    jieba = _jieba()
    for term in _recurring_terms(text):
        jieba.add_word(term)  # type: ignore[attr-defined]
    for name in exclude:
        jieba.add_word(name)  # type: ignore[attr-defined]
    ranked = jieba.analyse.extract_tags(text, topK=count)  # type: ignore[attr-defined]
    return [w for w in ranked if not w.isdigit() and len(w) > 1]


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


def _english_keywords(text: str, count: int) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z0-9'\u2019-]+", text)
    counts = Counter(w.lower() for w in words
                     if not _is_stop(w) and len(w) > 2 and not _adverb(w))
    display: dict[str, str] = {}
    for word in words:
        display.setdefault(word.lower(), word)
    ranked = sorted(counts, key=lambda w: (-counts[w] * (1 + math.log(len(w))), w))
    return [display[w] for w in ranked[:count]]


def _adverb(word: str) -> bool:
    """"dramatically", "surprisingly": how something was said, never what it was about."""
    return len(word) > 6 and word.lower().endswith("ly")


# ---------------------------------------------------------------- key points

_ZH_CONNECTIVES = ("因为", "所以", "但是", "而且", "不过", "可是", "然后", "而", "那", "这",
                   "对", "是的", "没错", "还有", "另外", "其实", "它", "他", "她", "嗯", "好",
                   "当然", "也", "就", "比如", "打个比方", "第二", "第三", "最后")
_EN_CONNECTIVES = _word_set("""but so and because that right or also yes yeah well it
this these they those which then plus still""")
_GREETING = re.compile(
    r"早上好|晚上好|大家好|欢迎收听|我是|感谢收听|谢谢收听|谢谢大家|下期见|再见|我们下次|"
    r"\b(?:good (?:morning|evening|afternoon)|welcome|i'm|i am|thanks|thank you|"
    r"see you|bye|goodbye|that's all)\b",
    re.IGNORECASE,
)


def standalone(sentence: str) -> bool:
    """True for a sentence a reader can take on its own, out of the dialogue: 8-160
    characters, not a question, greeting or sign-off, and not opening with a connective or
    pronoun that needs the previous turn ("因为它的大模型训练能力…", "But it ...")."""
    text = sentence.strip().strip("\"“”'‘’「」")
    low, high = _KEY_POINT_CHARS
    if not low <= len(text) <= high or text.endswith(("?", "？")) or _GREETING.search(text):
        return False
    if contains_cjk(text[:2]):
        return not text.startswith(_ZH_CONNECTIVES)
    first = re.match(r"[A-Za-z']+", text)
    return not (first and first.group(0).lower() in _EN_CONNECTIVES)


def _terms(sentence: str) -> set[str]:
    """The content words of a sentence, for comparing sentences."""
    if contains_cjk(sentence):
        jieba = _jieba()
        words = jieba.lcut(sentence)  # type: ignore[attr-defined]
    else:
        words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'-]*", sentence)
    return {w.lower() for w in words if len(w.strip()) > 1 and not _is_stop(w)
            and any(c.isalnum() for c in w)}


def centrality(sentences: list[str], damping: float = 0.85, steps: int = 100) -> np.ndarray:
    """TextRank: each sentence's PageRank over the graph of sentence similarity (shared
    content words, over the log of the sentences' sizes), so what the whole dialogue keeps
    coming back to ranks high, wherever it was said."""
    terms = [_terms(s) for s in sentences]
    vocabulary = {w: i for i, w in enumerate(sorted(set().union(*terms)))} if terms else {}
    n = len(sentences)
    if n == 0 or not vocabulary:
        return np.zeros(n)
    matrix = np.zeros((n, len(vocabulary)))
    for row, words in enumerate(terms):
        matrix[row, [vocabulary[w] for w in words]] = 1.0
    overlap = matrix @ matrix.T
    sizes = np.log(np.maximum(matrix.sum(axis=1), 1.0) + 1.0)
    weights = overlap / (sizes[:, None] + sizes[None, :])
    np.fill_diagonal(weights, 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    transition = np.divide(weights, totals, out=np.full_like(weights, 1.0 / n),
                           where=totals > 0)
    rank = np.full(n, 1.0 / n)
    for _ in range(steps):
        updated = (1 - damping) / n + damping * transition.T @ rank
        if np.abs(updated - rank).sum() < 1e-10:
            converged: np.ndarray = updated
            return converged
        rank = updated
    return rank


def key_points(sentences: list[str], count: int = KEY_POINTS) -> list[str]:
    """The most central self-contained sentences, in the order they were said."""
    scores = centrality(sentences)
    eligible = [i for i, s in enumerate(sentences) if standalone(s)]
    best = sorted(eligible, key=lambda i: (-scores[i], i))[:count]
    return [sentences[i] for i in sorted(best)]


def show_notes(summary: str | None, sentences: list[str], hosts: tuple[str, ...],
               *, exclude: tuple[str, ...] = ()) -> ShowNotes:
    """Keywords and key points of an episode. ``exclude`` (the show's title, say) joins the
    hosts' names as words never to offer as keywords."""
    text = "".join(sentences) if contains_cjk("".join(sentences)) else " ".join(sentences)
    words = keywords(text, exclude=tuple(hosts) + tuple(exclude))
    return ShowNotes(summary, key_points(sentences), words)


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
