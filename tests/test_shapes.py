"""JSON read into dataclasses where it arrives (``duopod.shapes``): every field checked by
its annotation, a bad one named in one line; and the edges that use it (a bundle, a speech
cache entry, a chat server's answer) refuse or discard what is malformed, never crash."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from duopod.errors import DuopodError
from duopod.shapes import ShapeError, shaped


@dataclass(frozen=True)
class Point:
    x: float
    y: float = 0.0


@dataclass(frozen=True)
class Shape:
    name: str
    kind: Literal["line", "ring"]
    points: tuple[Point, ...]
    closed: bool = False
    pair: tuple[int, str] | None = None
    file: Path | None = None
    tags: dict[str, int] | None = None
    note: str | int | None = None


def test_a_value_of_the_right_shape_becomes_its_dataclass() -> None:
    found = shaped(Shape, {"name": "a", "kind": "ring", "points": [{"x": 1}, {"x": 2.5, "y": 3}],
                           "pair": [1, "one"], "file": "a/b.txt", "tags": {"t": 2},
                           "note": 7, "unknown": "ignored"})
    assert found == Shape("a", "ring", (Point(1.0), Point(2.5, 3.0)), False, (1, "one"),
                          Path("a/b.txt"), {"t": 2}, 7)
    assert isinstance(found.points[0].x, float)  # JSON's 1 is the float field's 1.0


@pytest.mark.parametrize(("data", "message"), [
    ([], "a JSON object is needed"),
    ({"kind": "line", "points": []}, "name: missing"),
    ({"name": 3, "kind": "line", "points": []}, "name: a string is needed"),
    ({"name": "a", "kind": "square", "points": []}, "kind: one of 'line', 'ring'"),
    ({"name": "a", "kind": "line", "points": {}}, "points: a list is needed"),
    ({"name": "a", "kind": "line", "points": [{"x": 1}, {"x": "2"}]},
     "points.1.x: a number is needed"),
    ({"name": "a", "kind": "line", "points": [{"x": float("nan")}]}, "points.0.x: a number"),
    ({"name": "a", "kind": "line", "points": [], "closed": 1}, "closed: true or false"),
    ({"name": "a", "kind": "line", "points": [], "pair": [1]}, "pair: a list of 2 (or null) is needed"),
    ({"name": "a", "kind": "line", "points": [], "pair": ["1", "x"]},
     "pair.0: a whole number is needed"),
    ({"name": "a", "kind": "line", "points": [], "tags": {"t": True}},
     "tags.t: a whole number is needed"),
    ({"name": "a", "kind": "line", "points": [], "note": 1.5},
     "note: a string or a whole number (or null) is needed"),
])
def test_a_bad_field_is_one_line_naming_it(data: object, message: str) -> None:
    with pytest.raises(ShapeError) as caught:
        shaped(Shape, data)
    assert str(caught.value) == message or str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_damaged_bundle_is_refused_naming_its_file_and_field(tmp_path: Path) -> None:
    from duopod.build.bundle import BUNDLE_FILE, BUNDLE_VERSION, read_bundle

    timeline = {"duration": 1.0, "chapters": [], "turns": [
        {"index": 0, "speaker": "雷总", "section": None, "start": 0.0, "end": 1.0,
         "text": "你好。", "sentences": [{"text": "你好。", "start": 0.0, "end": 1.0}],
         "laughs": [[0, "笑"]]}]}
    good = {"version": BUNDLE_VERSION, "script": "scripts/a.md", "engine": "espeak",
            "audio": "a.mp3", "timeline": timeline,
            "measurement": {"loudness_lufs": -16.0, "true_peak_dbtp": -1.5},
            "notes": None, "rendered": 1, "cached": 0}
    (tmp_path / BUNDLE_FILE).write_text(json.dumps(good), encoding="utf-8")
    bundle = read_bundle(tmp_path)
    assert bundle is not None and bundle.audio == tmp_path / "a.mp3"
    assert bundle.timeline.turns[0].laughs == ((0, "笑"),)
    for change, words in (({"audio": "../../etc/passwd"}, "audio: a file name"),
                          ({"rendered": "1"}, "rendered: a whole number"),
                          ({"timeline": {**timeline, "turns": [{"index": 0}]}},
                           "timeline.turns.0.speaker: missing")):
        (tmp_path / BUNDLE_FILE).write_text(json.dumps({**good, **change}), encoding="utf-8")
        with pytest.raises(DuopodError, match=words) as caught:
            read_bundle(tmp_path)
        assert str(caught.value).startswith(str(tmp_path / BUNDLE_FILE))


def test_a_malformed_speech_cache_entry_is_discarded_and_rendered_again(tmp_path: Path
                                                                        ) -> None:
    from duopod.audio.decode import SAMPLE_RATE
    from duopod.speech.cache import SpeechCache
    from duopod.speech.model import SentenceSpan, Speech

    cache = SpeechCache(tmp_path)
    samples = np.zeros(SAMPLE_RATE // 10, dtype=np.float32)
    cache.put("ab" * 32, Speech(samples, [SentenceSpan("你好。", 0.0, 0.1)]))
    (meta,) = tmp_path.rglob("*.json")
    entry = json.loads(meta.read_text(encoding="utf-8"))
    assert cache.get("ab" * 32) is not None
    meta.write_text(json.dumps({**entry, "sentences": [{"text": "你好。"}]}), encoding="utf-8")
    assert cache.get("ab" * 32) is None  # before: a TypeError out of the build
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob("*.pcm"))


@pytest.mark.parametrize(("body", "problem", "retried"), [
    (b"<html>busy</html>", "not JSON", True),
    (b'{"choices": []}', "the answer has no choices", False),
    (b'{"choices": [{"message": {"content": null}}]}', "content", False),
    (b'{"choices": [{"message": {"content": ["a", "list"]}}]}', "content", False),
    (b'{"choices": [{"message": {"content": "ok"}}], "usage": {"prompt_tokens": "many"}}',
     "prompt_tokens", False),
])
def test_a_chat_answer_of_the_wrong_shape_is_one_line_not_a_crash(
        body: bytes, problem: str, retried: bool) -> None:
    """Damage in transit is asked again; JSON of the wrong shape is the server's meaning,
    said in one line naming the field."""
    from duopod.answers import AnswerError
    from duopod.draft.openai import Retryable, _answer_of

    with pytest.raises(Retryable if retried else AnswerError, match=problem):
        _answer_of(body, "chat.test", 10_000)
    answer = _answer_of(b'{"choices": [{"message": {"content": "ok"}, "finish_reason": '
                        b'"stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}',
                        "chat.test", 10_000)
    assert (answer.text, answer.prompt_tokens, answer.completion_tokens,
            answer.finish_reason) == ("ok", 3, 1, "stop")
