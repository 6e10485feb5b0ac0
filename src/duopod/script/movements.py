"""Where an imported dialogue's movements begin, found by what the turns say, not only by
the cue words that announce them.

An episode page names its movements (``Phenomenon+ Conflict+ Background+ ...``, not in the
order they are spoken) but not where each starts. A turn whose opening holds a movement's
cue word (背景, 矛盾, 影响, 展望, ...) opens it, as before; but hosts rarely announce every
movement, and a page whose turns say "要从头说起" rather than "背景" had one chapter where
a producer puts four headings. So the rest are placed by meaning, from two signals:

* **turn topics**: where the vocabulary changes. Each turn's content words (jieba for
  Chinese, plain words for English, stop words removed) are compared across every gap
  between turns, three turns either side (cosine of word counts, TextTiling's *depth*:
  how far the similarity dips below the peaks on each side). A movement starts where a
  topic does.
* **what a movement is about**: each movement has words that mean it without naming it
  (background: 历史, 起源, 开始, 出台 ...; conflict: 一方面, 博弈, 分歧 ...; impact: 股价,
  代价, 短期, 长远 ...; future: 未来, 趋势, 下一步 ...), counted in the turns that would
  open it and, more lightly, through its whole stretch.

Every order of the movements is tried, and for each the best boundaries (dynamic
programming, each movement at least ``MIN_TURNS`` turns, cue-announced movements held at
their turns); the best-scoring placement wins. The first movement is the opening and gets
no heading (the episode's first chapter). Each placement carries its reason (the cue word,
or the meaning words and the topic shift) so the importer can say where it put each
heading and why. The report summary's ``###`` titles on these pages are the report's own
(Key Findings, Notable Risks, Trends), not the dialogue's, and its text is English where
the dialogue is Chinese, so it is not used to place headings.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..text import fix_cjk_punctuation, split_sentences
from ..text.notes import stop_words

__all__ = ["MEANING_WORDS", "MIN_TURNS", "MOVEMENT_CUES", "Placement", "place_movements"]

MOVEMENT_CUES: dict[str, tuple[str, tuple[str, ...]]] = {
    # movement (as the page names it, lower case): (Chinese heading, cue words)
    "phenomenon": ("现象", ("现象", "phenomenon")),
    "background": ("背景", ("背景", "background")),
    "conflict": ("冲突", ("矛盾", "冲突", "conflict", "tension")),
    "impact": ("影响", ("影响", "impact", "consequence")),
    "future": ("未来", ("展望", "looking ahead", "the future")),
}
"""A turn whose first two sentences hold one of a movement's cue words opens it."""

MEANING_WORDS: dict[str, tuple[str, ...]] = {
    "phenomenon": ("报道", "显示", "发现", "消息", "细节", "曝光", "文件", "事件", "新闻",
                   "reported", "revealed", "shows", "documents", "news", "details"),
    "background": ("历史", "起源", "由来", "根源", "开始", "以来", "当年", "早在", "过去",
                   "此前", "出台", "来龙去脉", "history", "began", "since", "origins",
                   "years ago", "started"),
    "conflict": ("一方面", "另一方面", "博弈", "对立", "分歧", "争议", "争论", "纠结", "妥协",
                 "两难", "拉锯", "对抗", "不满", "on the other hand", "dispute",
                 "clash", "trade-off", "at odds", "disagree"),
    "impact": ("后果", "效应", "代价", "损失", "股价", "资本市场", "短期", "长远", "意味着",
               "effect", "consequences", "cost", "stock", "markets", "fallout"),
    "future": ("未来", "将来", "接下来", "下一步", "趋势", "前景", "终局", "阶段", "预计",
               "next", "ahead", "outlook", "trend", "will be", "coming years"),
}
"""Words that mean a movement without naming it (cue words count too, more)."""

MIN_TURNS = 3
"""A movement placed by meaning spans at least this many turns."""
_WINDOW = 3
"""Turns on each side of a gap when comparing vocabularies."""
_OPENING_SENTENCES = 2
_CUE_WEIGHT = 3.0
_TOPIC_WEIGHT = 2.0
_OPENING_DECAY = (1.0, 0.5, 0.25)
_BODY_WEIGHT = 0.5
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]+|[0-9]+[A-Za-z][A-Za-z0-9-]*")


@dataclass(frozen=True)
class Placement:
    """A movement's heading before turn ``turn`` (0-based), and why it is there."""

    movement: str
    turn: int
    reason: str


def place_movements(turns: Sequence[str], movements: Sequence[str]) -> list[Placement]:
    """The headings for ``movements`` in a dialogue of ``turns`` (each turn's text):
    cue-announced ones where announced; when the dialogue is long enough for every
    movement to have ``MIN_TURNS`` turns, the others by meaning (see the module docstring).
    The opening movement is not among them."""
    names = list(dict.fromkeys(movements))
    anchors = _cue_anchors(turns, names)
    unplaced = [n for n in names if n not in anchors]
    if len(unplaced) <= 1 or len(turns) < MIN_TURNS * len(names):
        return sorted((Placement(n, t, f"announced by {cue!r}")
                       for n, (t, cue) in anchors.items()), key=lambda p: p.turn)
    return _by_meaning(turns, names, anchors)


def _cue_anchors(turns: Sequence[str], names: list[str]) -> dict[str, tuple[int, str]]:
    """Movement -> (turn, cue word) for the first turn whose opening holds a cue."""
    found: dict[str, tuple[int, str]] = {}
    for index, text in enumerate(turns):
        opening = _opening(text).lower()
        for name in names:
            if name in found:
                continue
            _zh, cues = MOVEMENT_CUES.get(name.lower(), (name, (name.lower(),)))
            cue = next((c for c in cues if c in opening), None)
            if cue is not None:
                found[name] = (index, cue)
                break
    return found


def _opening(text: str) -> str:
    return "".join(split_sentences(fix_cjk_punctuation(text))[:_OPENING_SENTENCES])


# ---------------------------------------------------------------- by meaning


@dataclass(frozen=True)
class _Evidence:
    hits: list[dict[str, list[str]]]
    """Per turn, per movement: the meaning and cue words found in it."""
    scores: list[dict[str, float]]
    topic: list[float]
    """Per turn: how sharply the topic changes just before it (0..1)."""


def _by_meaning(turns: Sequence[str], names: list[str],
                anchors: dict[str, tuple[int, str]]) -> list[Placement]:
    evidence = _Evidence(*_word_hits(turns, names), topic=topic_shifts(turns))
    best: tuple[float, tuple[str, ...], list[int]] | None = None
    for order in itertools.permutations(names):
        if any(order[0] == n and t != 0 for n, (t, _c) in anchors.items()):
            continue
        found = _best_bounds(order, len(turns), evidence, anchors)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], order, found[1])
    if best is None:  # the anchors allow no order: keep to what the cues say
        return sorted((Placement(n, t, f"announced by {cue!r}")
                       for n, (t, cue) in anchors.items()), key=lambda p: p.turn)
    _score, order, bounds = best
    placements = []
    for name, start in zip(order[1:], bounds, strict=True):
        if name in anchors:
            reason = f"announced by {anchors[name][1]!r}"
        else:
            reason = _reason(name, start, evidence)
        placements.append(Placement(name, start, reason))
    return placements


def _reason(name: str, start: int, evidence: _Evidence) -> str:
    words = [w for t in range(start, min(start + len(_OPENING_DECAY), len(evidence.hits)))
             for w in evidence.hits[t][name]]
    said = ", ".join(dict.fromkeys(words)) or "none"
    return f"by meaning: topic shift {evidence.topic[start]:.2f}, words {said}"


def _word_hits(turns: Sequence[str], names: list[str]
               ) -> tuple[list[dict[str, list[str]]], list[dict[str, float]]]:
    hits: list[dict[str, list[str]]] = []
    scores: list[dict[str, float]] = []
    for text in turns:
        lower = text.lower()
        mine: dict[str, list[str]] = {}
        score: dict[str, float] = {}
        for name in names:
            key = name.lower()
            cues = MOVEMENT_CUES.get(key, (name, (key,)))[1]
            found_cues = [c for c in cues if c in lower]
            found = [w for w in MEANING_WORDS.get(key, ()) if w in lower]
            mine[name] = found_cues + found
            score[name] = _CUE_WEIGHT * len(found_cues) + len(found)
        hits.append(mine)
        scores.append(score)
    return hits, scores


def _best_bounds(order: tuple[str, ...], count: int, evidence: _Evidence,
                 anchors: dict[str, tuple[int, str]]) -> tuple[float, list[int]] | None:
    """The best start turns for ``order[1:]`` (``order[0]`` opens at turn 0): score and
    starts, or None when the anchors cannot be kept in this order."""
    # best[j][s]: the best score with order[j] starting at turn s
    best: list[dict[int, tuple[float, int]]] = [{0: (0.0, -1)}]
    for j in range(1, len(order)):
        name, previous = order[j], order[j - 1]
        row: dict[int, tuple[float, int]] = {}
        starts = [anchors[name][0]] if name in anchors else range(count)
        for start in starts:
            for before, (score, _back) in best[j - 1].items():
                length = start - before
                if length < (1 if previous in anchors or name in anchors else MIN_TURNS):
                    continue
                value = score + _stretch(previous, before, start, evidence, j - 1 == 0) \
                    + _opening_score(name, start, evidence)
                if start not in row or value > row[start][0]:
                    row[start] = (value, before)
        if not row:
            return None
        best.append(row)
    last = order[-1]
    total, start = max(
        ((score + _stretch(last, s, count, evidence, len(order) == 1), s)
         for s, (score, _b) in best[-1].items() if count - s >= 1),
        default=(-math.inf, -1))
    if start < 0:
        return None
    starts = [start]
    for j in range(len(order) - 1, 1, -1):
        starts.append(best[j][starts[-1]][1])
    return total, starts[::-1]


def _opening_score(name: str, start: int, evidence: _Evidence) -> float:
    """How well ``name`` opens at ``start``: its words in the first turns, and the topic
    shift before it."""
    words = sum(weight * evidence.scores[t][name]
                for weight, t in zip(_OPENING_DECAY, range(start, len(evidence.scores)),
                                     strict=False))
    return words + _TOPIC_WEIGHT * evidence.topic[start]


def _stretch(name: str, start: int, end: int, evidence: _Evidence, opening: bool) -> float:
    """``name``'s words through its stretch of turns, per turn (the opening movement is
    scored only so)."""
    span = evidence.scores[start:end]
    mean = sum(s[name] for s in span) / max(len(span), 1)
    return mean * (1.0 if opening else _BODY_WEIGHT)


# ---------------------------------------------------------------- turn topics


def topic_shifts(turns: Sequence[str], window: int = _WINDOW) -> list[float]:
    """Per turn, how sharply the vocabulary changes in the gap before it (TextTiling's
    depth score, scaled so the deepest gap is 1; the first turn 0)."""
    words = [content_words(text) for text in turns]
    similarity = [1.0]
    for gap in range(1, len(turns)):
        left = sum((words[t] for t in range(max(0, gap - window), gap)), Counter[str]())
        right = sum((words[t] for t in range(gap, min(len(turns), gap + window))),
                    Counter[str]())
        similarity.append(_cosine(left, right))
    depths = [0.0] + [_depth(similarity, gap) for gap in range(1, len(turns))]
    deepest = max(depths, default=0.0)
    return [d / deepest if deepest > 0 else 0.0 for d in depths]


def _depth(similarity: list[float], gap: int) -> float:
    left = gap
    while left > 1 and similarity[left - 1] >= similarity[left]:
        left -= 1
    right = gap
    while right < len(similarity) - 1 and similarity[right + 1] >= similarity[right]:
        right += 1
    return (similarity[left] - similarity[gap]) + (similarity[right] - similarity[gap])


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    shared = sum(a[w] * b[w] for w in a.keys() & b.keys())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return shared / norm if norm else 0.0


def content_words(text: str) -> Counter[str]:
    """A turn's words worth comparing: Chinese words of two characters or more (jieba),
    English words of three letters or more, stop words removed."""
    stops = stop_words("zh") | stop_words("en")
    found = [w.lower() for w in _WORD.findall(text) if len(w) >= 3]
    found += [w for w in _jieba().lcut(text) if len(w) >= 2 and _is_han(w)]
    return Counter(w for w in found if w not in stops)


def _is_han(word: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in word)


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba
