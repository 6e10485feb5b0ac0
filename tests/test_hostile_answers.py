"""Answers of an unexpected shape, size, depth or number, from servers duopod does not
trust: the one bounded JSON reader (``duopod.answers``) and the clients that use it (issue
35, items 1, 2 and 7). Each case was a traceback or a hang before."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from conftest import run_cli
from loopback import Scripted

from duopod.answers import AnswerError, Shape, nesting, read_json
from duopod.draft import ChatOptions
from duopod.draft.model import ChatRequest
from duopod.draft.openai import OpenAIChatEngine
from duopod.draft.schema import SchemaError, parse_answer
from duopod.draft.settings import WriterSettings
from duopod.errors import EngineError
from duopod.http import error_message, redact

DEEP = 200_000
SCHEMA = {"type": "object", "required": ["text"],
          "properties": {"text": {"type": "string"}}}
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


def nested(levels: int, inner: str = "1") -> str:
    return "[" * levels + inner + "]" * levels


# ---------------------------------------------------------------- the reader


@pytest.mark.parametrize(("text", "words"), [
    (nested(DEEP), "nests more than 32 levels"),
    ('{"a": 1e999}', "1e999 is out of range"),
    ('{"a": -1e999}', "out of range"),
    ('[NaN]', "NaN is not a number"),
    ('{"a": Infinity}', "Infinity is not a number"),
    ("1" * 5000, "5000 digits"),
    ('{"a": "x"', "not JSON (line 1"),
])
def test_the_reader_refuses_in_one_line_naming_the_server(text: str, words: str) -> None:
    with pytest.raises(AnswerError) as refused:
        read_json(text, "127.0.0.1:8080", "the answer")
    message = str(refused.value)
    assert message.startswith("127.0.0.1:8080: the answer ") and words in message
    assert "\n" not in message


def test_size_and_encoding_are_bounded_before_parsing() -> None:
    with pytest.raises(AnswerError, match="larger than 10 bytes"):
        read_json(b"[" + b" " * 20 + b"]", "h", limit=10)
    with pytest.raises(AnswerError, match="not UTF-8") as caught:
        read_json(b'{"a": "\xff"}', "h")
    assert caught.value.garbled
    assert read_json(b'\xef\xbb\xbf{"a": [1.5, -2, "\\u00e9", 10e300]}', "h") == {
        "a": [1.5, -2, "é", 1e301]}


def test_nesting_skips_strings_and_escapes() -> None:
    assert nesting('{"a": "[[[[{{", "b": [["\\"]]]"]]}') == 3
    assert nesting('"' + '\\"' * 1000) == 0  # an unterminated string: one pass, no backtracking
    assert nesting("[]" * 1000) == 1


def test_shapes_name_the_part_that_is_wrong() -> None:
    answer = Shape({"usage": "lots", "choices": [None], "n": 1.5, "m": 12.0}, "h:1")
    with pytest.raises(AnswerError, match=r"^h:1: the answer\.usage is text, not an object$"):
        answer.field("usage").field("prompt_tokens")
    with pytest.raises(AnswerError, match=r"choices\[0\] is null, not an object"):
        answer.field("choices").items()[0].field("message")
    with pytest.raises(AnswerError, match="not a whole number"):
        answer.field("n").count()
    assert answer.field("m").count() == 12 and answer.field("absent").count() == 0
    with pytest.raises(AnswerError, match="is true or false, not a number"):
        Shape(True, "h").number()


def test_a_model_answer_nested_200000_deep_is_refused_not_a_recursion_error() -> None:
    for text in (nested(DEEP), '{"text": ' + nested(DEEP, '"x"') + "}",
                 '{"text": "x", "n": 1e999}'):
        with pytest.raises(SchemaError):
            parse_answer(text, SCHEMA)


def test_an_error_body_nested_1900_deep_is_shown_as_text() -> None:
    body = '{"error": ' * 1900 + '"x"' + "}" * 1900
    message = error_message(body)
    assert message.startswith('{"error": {"error":') and len(message) == 200
    assert error_message('{"detail": [{"msg": "field required"}]}') == \
        '[{"msg": "field required"}]'
    assert error_message('{"error": {"message": "bad  key"}}') == "bad key"


# ---------------------------------------------------------------- item 7: transformed keys


def test_a_key_echoed_transformed_is_blanked() -> None:
    key = "sk-live-0123456789abcdef"
    echoes = [key.upper(), " ".join(key), "-".join(key), key.encode().hex(),
              base64.b64encode(key.encode()).decode(),
              base64.urlsafe_b64encode(key.encode()).decode().rstrip("="),
              base64.b64encode(f"Authorization: Bearer {key}".encode()).decode(),
              base64.b64encode(f"x{key}".encode()).decode(),
              base64.b64encode(f"xy{key}".encode()).decode()]
    for echo in echoes:
        shown = redact(f"the server said: {echo} is wrong", [key])
        assert "0123456789" not in shown.upper() and "***" in shown, (echo, shown)
        assert not any(part in shown for part in _b64_fragments(key)), (echo, shown)
    assert redact("no key here, none", [key]) == "no key here, none"


def _b64_fragments(key: str) -> list[str]:
    """Eight-character stretches of the key's base64 at each alignment."""
    found = []
    for pad in ("", "x", "xy"):
        encoded = base64.b64encode(f"{pad}{key}".encode()).decode()
        found += [encoded[i:i + 8] for i in range(4, len(encoded) - 12, 4)]
    return found


# ---------------------------------------------------------------- the chat client


@pytest.fixture
def hostile() -> Iterator[Scripted]:
    server = Scripted(None).start()
    yield server
    server.stop()


def ask(server: Scripted, answer: Answer, stream: bool = False) -> str:
    server.answer = answer
    engine = OpenAIChatEngine(WriterSettings(base_url=server.base_url, model="m"),
                              ChatOptions(retry_for=1.0, stream=stream))

    async def go() -> str:
        try:
            return (await engine.complete(ChatRequest("outline", (("user", "hi"),),
                                                      SCHEMA))).text
        finally:
            await engine.close()

    return asyncio.run(go())


def completion(content: str = '{"text": "fine"}', **extra: Any) -> dict[str, Any]:
    return {"choices": [{"message": {"content": content}, "finish_reason": "stop"}], **extra}


def body(text: str) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, content_type="application/json")
    return answer


def events(*data: str) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for item in data:
            await response.write(f"data: {item}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        return response
    return answer


GOOD_EVENT = json.dumps({"choices": [{"delta": {"content": '{"text": "ok"}'}}]})
ODD_ANSWERS = {
    "usage is text": (json.dumps(completion(usage="lots")), "usage is text, not an object"),
    "tokens 1e999": (json.dumps(completion()).replace("}]}", '}], "usage": {"prompt_tokens": '
                                                     '1e999}}'), "1e999 is out of range"),
    "choices [null]": ('{"choices": [null]}', r"choices\[0\] is null, not an object"),
    "no choices": ('{"choices": []}', "has no choices"),
    "content a number": (json.dumps(completion(content=5)), "content is a number, not text"),
    "body 200000 deep": (nested(DEEP), "nests more than 32 levels"),
    "content 200000 deep": (json.dumps(completion(content=nested(DEEP))),
                            "not usable JSON .*nests more than 32 levels"),
}
ODD_STREAMS = {
    "event choices [null]": ((GOOD_EVENT, '{"choices": [null]}'), r"choices\[0\] is null"),
    "event usage text": ((GOOD_EVENT, '{"choices": [], "usage": "lots"}'), "usage is text"),
    "event 200000 deep": ((GOOD_EVENT, nested(DEEP)), "nests more than 32 levels"),
    "event 1e999": ((GOOD_EVENT, '{"choices": [], "usage": {"completion_tokens": 1e999}}'),
                    "out of range"),
    "delta text": (('{"choices": [{"delta": "x"}]}',), r"delta is text, not an object"),
}


@pytest.mark.parametrize("case", ODD_ANSWERS)
def test_an_odd_answer_is_one_line_naming_the_server_and_not_retried(
        hostile: Scripted, case: str) -> None:
    text, words = ODD_ANSWERS[case]
    with pytest.raises(EngineError, match=words) as refused:
        ask(hostile, body(text))
    assert str(refused.value).startswith(f"127.0.0.1:{hostile.port}: ")
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 300
    assert len(hostile.hits) == 1  # meant by the server: asking again would not help


@pytest.mark.parametrize("case", ODD_STREAMS)
def test_an_odd_stream_event_is_one_line_naming_the_server(hostile: Scripted, case: str
                                                            ) -> None:
    data, words = ODD_STREAMS[case]
    with pytest.raises(EngineError, match=words) as refused:
        ask(hostile, events(*data), stream=True)
    assert str(refused.value).startswith(f"127.0.0.1:{hostile.port}: outline: ")
    assert len(hostile.hits) == 1


def test_good_answers_still_read(hostile: Scripted) -> None:
    usage = {"prompt_tokens": 12.0, "completion_tokens": 3}
    assert json.loads(ask(hostile, body(json.dumps(completion(usage=usage)))))["text"] == "fine"
    assert json.loads(ask(hostile, events(GOOD_EVENT, '{"choices": [{"delta": {}, '
                                                      '"finish_reason": "stop"}]}'),
                          stream=True))["text"] == "ok"


def test_the_draft_command_says_one_line(hostile: Scripted, show: Path) -> None:
    hostile.answer = body(json.dumps(completion(usage="lots")))
    article = show / "article.txt"
    article.write_text("英伟达获准向中国出口H200芯片。" * 20, encoding="utf-8")
    done = run_cli(show, "draft", "article.txt", "--base-url", hostile.base_url)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "usage is text, not an object" in done.stderr


# ---------------------------------------------------------------- item 2: speech


def test_say_with_openai_and_a_400_nested_1900_deep_is_one_line(hostile: Scripted,
                                                                 show: Path) -> None:
    async def refuse(request: web.Request) -> web.StreamResponse:
        return web.Response(status=400, text='{"error": ' * 1900 + '"no"' + "}" * 1900,
                            content_type="application/json")

    hostile.answer = refuse
    env = {**os.environ, "OPENAI_BASE_URL": hostile.base_url, "OPENAI_API_KEY": ""}
    done = run_cli(show, "say", "你好。", "--host", "雷总", "--engine", "openai",
                   "--out", "say.wav", env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert f"127.0.0.1:{hostile.port} refused the request (HTTP 400" in done.stderr
    assert not (show / "say.wav").exists()



def test_a_key_echoed_transformed_by_the_chat_server_never_prints(
        hostile: Scripted, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-proj-Zx81bQ72mN0pLk45"
    monkeypatch.setenv("OPENAI_API_KEY", key)

    async def echo(request: web.Request) -> web.StreamResponse:
        sent = request.headers["Authorization"]
        message = (f"invalid key {key.upper()} ({' '.join(key)}); you sent "
                   f"{base64.b64encode(sent.encode()).decode()}")
        return web.json_response({"error": {"message": message}}, status=401)

    hostile.answer = echo
    engine = OpenAIChatEngine(WriterSettings(base_url=hostile.base_url, model="m"),
                              ChatOptions(retry_for=1.0, stream=False))
    assert engine.settings.api_key == key

    async def go() -> None:
        try:
            await engine.complete(ChatRequest("outline", (("user", "hi"),), SCHEMA))
        finally:
            await engine.close()

    with pytest.raises(EngineError) as refused:
        asyncio.run(go())
    shown = str(refused.value)
    assert "HTTP 401" in shown and "ZX81BQ72" not in shown.upper().replace(" ", "")
    assert not any(part in shown for part in _b64_fragments(f"Bearer {key}"))
