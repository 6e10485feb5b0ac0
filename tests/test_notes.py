"""Show notes worth reading, drawn from the example scripts: keywords that are about the
episode, key points a listener can read on their own."""

from __future__ import annotations

import re

import pytest
from conftest import ENGLISH, MANDARIN, REPO

from duopod.script.parse import parse_script
from duopod.text.notes import (
    _EN_CONNECTIVES,
    _ZH_CONNECTIVES,
    centrality,
    key_points,
    sentences_of,
    show_notes,
    standalone,
    stop_words,
)

SHOW_TITLE = "芯闻两人谈"


def notes_of(name: str) -> tuple[list[str], object, tuple[str, ...]]:
    script = parse_script(REPO / "scripts" / name, workspace=REPO)
    sentences = sentences_of([t.text for t in script.turns])
    return sentences, show_notes(script.meta.summary, sentences, script.hosts,
                                 exclude=(SHOW_TITLE,)), script.hosts


@pytest.mark.parametrize("name", [MANDARIN, ENGLISH])
def test_keywords_are_no_stop_words_nor_names(name: str) -> None:
    _sentences, notes, hosts = notes_of(name)
    assert len(notes.keywords) >= 5
    stops = stop_words("zh") | stop_words("en")
    for word in notes.keywords:
        assert word.lower() not in stops, word
        assert word not in hosts and word not in SHOW_TITLE and SHOW_TITLE not in word, word


@pytest.mark.parametrize("name", [MANDARIN, ENGLISH])
def test_key_points_stand_alone_in_dialogue_order(name: str) -> None:
    sentences, notes, _hosts = notes_of(name)
    points = notes.key_points
    assert 3 <= len(points) <= 4
    places = [sentences.index(p) for p in points]
    assert places == sorted(places)
    for point in points:
        assert 8 <= len(point) <= 160 and not point.endswith(("?", "？"))
        assert not point.startswith(_ZH_CONNECTIVES), point
        first = re.match(r"[A-Za-z']+", point)
        assert not (first and first.group(0).lower() in _EN_CONNECTIVES), point


def test_filler_and_the_show_name_are_never_keywords() -> None:
    text = ("Doesn't matter, we already said it. Already! The chips doesn't lie: "
            "chips, chips, export rules. Weekly Chips Show.")
    from duopod.text.notes import keywords

    words = [w.lower() for w in keywords(text, exclude=("Alex", "Sam", "Weekly Show"))]
    assert "chips" in words
    assert not {"doesn't", "already", "weekly", "show"} & set(words)
    zh = keywords("芯闻两人谈今天聊芯片。芯片出口，芯片管制，其实已经很久了。芯闻两人谈。",
                  exclude=("雷总", "董小姐", "芯闻两人谈"))
    assert "芯片" in zh and not {"芯闻", "两人", "两人谈", "其实", "已经"} & set(zh)


def test_show_notes_stays_callable_without_exclude() -> None:
    notes = show_notes(None, ["英伟达的芯片卖到了中国。", "芯片的账怎么算？"], ("雷总",))
    assert "芯片" in notes.keywords


def test_connectives_questions_and_greetings_are_not_self_contained() -> None:
    for sentence in ("因为它的大模型训练能力更强。", "所以这件事没那么简单。", "对，这是最大的一次松口。",
                     "But that is only half the story.", "So the question is who pays.",
                     "国产芯片会不会被打回原形？", "早上好，欢迎收听芯闻两人谈。",
                     "Thanks for listening, see you next time.", "短句。"):
        assert not standalone(sentence), sentence
    assert standalone("推理不一定需要最顶级的芯片，这恰恰是国产方案最容易站稳的地方。")
    assert standalone("Good engineering beats a bigger budget more often than people think.")


def test_centrality_prefers_what_the_dialogue_returns_to() -> None:
    sentences = ["The export rules changed for chips this week.",
                 "Weather was nice in the city today for a walk.",
                 "Chips sales depend on the export rules now.",
                 "The rules for chips exports shape every sale."]
    scores = centrality(sentences)
    assert scores[1] == min(scores)
    assert sentences[1] not in key_points(sentences, count=3)
