"""duopod draft against a local stand-in chat server: the real client, real sockets."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_server import ChatServer
from conftest import run_cli, tree_snapshot

from duopod.draft import ChatEngineSpec, ChatOptions, get_chat_engine
from duopod.draft.checks import check_turns, claims, echo, language_share, unsupported
from duopod.draft.model import ChatRequest
from duopod.draft.openai import OpenAIChatEngine
from duopod.draft.settings import WriterSettings, load_writer_settings
from duopod.draft.writer import DraftRefused, DraftRequest, draft_script, read_article, revise_turn
from duopod.errors import EngineError, InputError
from duopod.http import RetryPolicy
from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace

ARTICLE = Path(__file__).parent / "data" / "article-h200-damaged.txt"
SECRET = "sk-test-0123456789abcdef"
SCHEMA = {"type": "object", "required": ["text"],
          "properties": {"text": {"type": "string", "maxLength": 50}}}


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    stand_in = ChatServer().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("duopod.draft.openai.BASE_DELAY", 0.01)


def engine(chat: ChatServer, tmp_path: Path | None = None, **options: object
           ) -> OpenAIChatEngine:
    settings = WriterSettings(base_url=chat.url, model="stand-in")
    made = get_chat_engine(settings, ChatOptions(cache_dir=tmp_path, **options))  # type: ignore[arg-type]
    assert isinstance(made, OpenAIChatEngine)
    return made


def ask(made: OpenAIChatEngine, schema: dict | None = SCHEMA, user: str = "说点什么吧。好的好的。"
        ) -> str:
    async def go() -> str:
        try:
            return (await made.complete(ChatRequest("test", (("system", "s"), ("user", user)),
                                                    schema))).text
        finally:
            await made.close()

    return asyncio.run(go())


def request_for(ws_root: Path, minutes: float = 2.0, **extra: object) -> DraftRequest:
    return DraftRequest(article=read_article(str(ARTICLE)), hosts=("雷总", "董小姐"),
                        language="zh-CN", date=dt.date(2025, 12, 10), minutes=minutes,
                        **extra)  # type: ignore[arg-type]


def draft(show: Path, chat: ChatServer, **extra: object):
    ws = load_workspace(show)
    settings = load_writer_settings(show / "show.toml")
    return draft_script(ws, engine(chat, ws.cache_dir), request_for(show, **extra),
                        settings.personas, settings.greeting, settings.sign_off)


# ---------------------------------------------------------------- the client


@pytest.mark.parametrize("stream", [True, False])
def test_structured_answers_streamed_and_not(chat: ChatServer, stream: bool) -> None:
    text = ask(engine(chat, stream=stream))
    assert json.loads(text)["text"]
    payload = chat.calls[-1].payload
    assert payload["stream"] is stream
    assert payload["response_format"]["type"] == "json_schema"


def test_a_server_without_structured_output_is_asked_again_with_the_schema_in_the_prompt(
        chat: ChatServer) -> None:
    chat.knobs.structured = False
    made = engine(chat)
    assert json.loads(ask(made))["text"]
    assert [c.status for c in chat.calls] == [400, 400, 200]
    assert "response_format" not in chat.calls[2].payload
    assert "JSON schema" in chat.calls[2].payload["messages"][0]["content"]
    ask(made, user="第二个问题。不一样的。")
    assert "response_format" not in chat.calls[3].payload  # remembered for the command


def test_llama_cpp_python_is_given_its_json_object_form(chat: ChatServer) -> None:
    chat.knobs.json_object_only = True
    assert json.loads(ask(engine(chat)))["text"]
    assert [c.status for c in chat.calls] == [500, 200]
    assert chat.calls[1].payload["response_format"]["type"] == "json_object"
    assert chat.calls[1].payload["response_format"]["schema"] == SCHEMA


def test_429_waits_as_long_as_retry_after_says(chat: ChatServer) -> None:
    chat.knobs.rate_limit, chat.knobs.retry_after = 1, "1"
    started = time.monotonic()
    ask(engine(chat))
    assert [c.status for c in chat.calls] == [429, 200]
    assert 0.95 <= chat.calls[1].at - chat.calls[0].at < 3
    assert time.monotonic() - started < 5


def test_retry_after_is_clamped_to_one_second_and_the_budget() -> None:
    """The chat engine waits as the speech engine does (one policy, duopod.http)."""
    policy = RetryPolicy(budget=100, base_delay=0.01)
    assert 1.0 <= (policy.delay(0, 0, 0) or 0) <= 1.01
    assert policy.delay(0, 95, 3600) is None  # past the budget: stop at once, not wait
    assert policy.delay(0, 100, 1) is None


def test_a_retry_after_past_the_budget_stops_at_once(chat: ChatServer) -> None:
    chat.knobs.rate_limit, chat.knobs.retry_after = 5, "3600"
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"HTTP 429.*gave up"):
        ask(engine(chat, retry_for=30))
    assert time.monotonic() - started < 5 and len(chat.calls) == 1


def test_5xx_is_retried_within_the_budget(chat: ChatServer) -> None:
    chat.knobs.fail_503 = 2
    ask(engine(chat))
    assert [c.status for c in chat.calls] == [503, 503, 200]
    chat.knobs.fail_503 = 1000
    with pytest.raises(EngineError, match=r"HTTP 503.*gave up"):
        ask(engine(chat, retry_for=0.3))


def test_a_slow_drip_is_cut_by_the_total_deadline(chat: ChatServer) -> None:
    chat.knobs.drip, chat.knobs.drip_seconds = 100, 0.2
    started = time.monotonic()
    with pytest.raises(EngineError, match="no whole answer within 1 s"):
        ask(engine(chat, stream=False, deadline=1.0, retry_for=0.5))
    assert time.monotonic() - started < 6


def test_an_oversized_body_is_refused_without_reading_it_all(chat: ChatServer) -> None:
    chat.knobs.oversized = 1
    for stream in (True, False):
        chat.knobs.oversized = 1
        with pytest.raises(EngineError, match="larger than 100000 bytes"):
            ask(engine(chat, stream=stream, max_body=100_000))


def test_a_redirect_to_another_origin_is_not_followed(chat: ChatServer) -> None:
    chat.knobs.redirect_to = "http://localhost:1/v1/chat/completions"
    settings = WriterSettings(base_url=chat.url, model="m")
    made = OpenAIChatEngine(settings, ChatOptions())
    with pytest.raises(EngineError, match="another origin"):
        ask(made)
    assert len(chat.calls) == 1


def test_a_redirect_within_the_origin_is_followed(chat: ChatServer) -> None:
    chat.knobs.redirect_to = f"http://127.0.0.1:{chat.port}/elsewhere/chat/completions"
    chat.knobs.redirect_once = True
    assert json.loads(ask(engine(chat)))["text"]
    assert [c.status for c in chat.calls] == [307, 200]


def test_garbage_is_refused_and_a_stream_stopped_midway_retried(chat: ChatServer) -> None:
    chat.knobs.stop_midway = 1
    assert json.loads(ask(engine(chat)))["text"]
    assert len(chat.calls) == 2
    chat.knobs.garbage = 1
    with pytest.raises(EngineError, match="not usable JSON"):
        ask(engine(chat))


def test_the_key_goes_in_the_header_only_and_never_into_errors_or_cache(
        chat: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    chat.knobs.api_key = SECRET
    made = engine(chat, tmp_path)
    ask(made)
    assert chat.calls[-1].authorization == f"Bearer {SECRET}"
    assert SECRET not in json.dumps(chat.calls[-1].payload)
    cached = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert cached and SECRET.encode() not in cached
    chat.knobs.api_key = "another-key-entirely"
    with pytest.raises(EngineError) as refused:
        ask(engine(chat), user="另一个问题。不同的输入。")
    assert "HTTP 401" in str(refused.value) and SECRET not in str(refused.value)


def test_a_rerun_is_answered_from_the_cache(chat: ChatServer, tmp_path: Path) -> None:
    first = ask(engine(chat, tmp_path))
    made = engine(chat, tmp_path)
    assert ask(made) == first
    assert len(chat.calls) == 1 and made.usage.cached == 1


def test_another_server_or_model_file_never_answers_from_the_cache(
        chat: ChatServer, tmp_path: Path) -> None:
    """The cache is keyed by the server's address and the model as the server describes
    it: the same model name on a second server, or a new file served under the same name,
    is asked, not answered from the first one's cache."""
    ask(engine(chat, tmp_path))
    other = ChatServer().start()
    try:
        made = engine(other, tmp_path)
        ask(made)
        assert len(other.calls) == 1 and made.usage.cached == 0
    finally:
        other.stop()
    chat.knobs.model_created += 1  # the same name, another model file
    again = engine(chat, tmp_path)
    ask(again)
    assert len(chat.calls) == 2 and again.usage.cached == 0
    ask(same := engine(chat, tmp_path))
    assert len(chat.calls) == 2 and same.usage.cached == 1


def test_concurrency_is_bounded(chat: ChatServer) -> None:
    chat.knobs.drip, chat.knobs.drip_seconds = 100, 0.01
    made = engine(chat, concurrency=1, stream=False)
    inflight, peak = 0, 0
    original = made._ask

    async def counted(*args: object) -> object:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        try:
            return await original(*args)  # type: ignore[arg-type]
        finally:
            inflight -= 1

    made._ask = counted  # type: ignore[method-assign]

    async def go() -> None:
        await asyncio.gather(*(made.complete(ChatRequest(f"q{i}", (("system", "s"), (
            "user", f"第{i}个问题。好的好的。")), SCHEMA)) for i in range(4)))
        await made.close()

    asyncio.run(go())
    assert peak == 1 and len(chat.calls) == 4


def test_a_server_that_is_down_is_one_clear_error() -> None:
    made = OpenAIChatEngine(WriterSettings(base_url="http://127.0.0.1:9/v1"),
                            ChatOptions(retry_for=0.2))
    with pytest.raises(EngineError, match=r"127\.0\.0\.1:9: test: connection failed"):
        ask(made)


def test_a_writer_plugin_registers_and_a_broken_one_is_skipped(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from importlib.metadata import EntryPoint

    import duopod.draft as chat_engines

    def fake_entry_points(group: str) -> list[EntryPoint]:
        assert group == "duopod.writers"
        return [EntryPoint("echo", "test_draft:PLUGIN", group),
                EntryPoint("broken", "no_such_module:SPEC", group),
                EntryPoint("wrong", "test_draft:SCHEMA", group)]

    monkeypatch.setattr(chat_engines, "entry_points", fake_entry_points)
    chat_engines.registry.cache_clear()
    try:
        found = chat_engines.registry()
    finally:
        chat_engines.registry.cache_clear()
    assert list(found) == ["openai", "llama-cpp", "echo"] and found["echo"] is PLUGIN
    assert "writer plug-in broken could not be loaded" in caplog.text
    assert "writer plug-in wrong is not a ChatEngineSpec" in caplog.text


PLUGIN = ChatEngineSpec(name="echo", summary="says it back",
                        factory=lambda settings, options: (_ for _ in ()).throw(
                            AssertionError("not built here")))


# ---------------------------------------------------------------- the checks


def test_checks_measure_language_grounding_and_echo() -> None:
    article = "英偉達H200芯片，黃仁勛表示：“我对此并不确定。”671B模型。"
    assert language_share("英伟达H200芯片很强", "zh-CN") == 1.0
    assert language_share("This is English entirely", "zh-CN") == 0.0
    assert set(claims("H200和H20都有141GB，他说“完全没有问题啊”")) >= {"H200", "H20", "141GB"}
    assert unsupported("黄仁勋说H200和671B", article) == []  # traditional folded to simplified
    assert unsupported("H100有80GB", article) == ["H100", "80GB"]
    # a capitalised word opening a sentence is no name; a name opening one still is
    assert claims("What happened? That's great. How about Huawei?") == ["Huawei"]
    assert claims("So Huawei did. Sam said What") == ["Huawei", "Sam", "What"]
    assert claims("Don't worry. Isn't it Nvidia? Let's see.") == ["Nvidia"]
    assert echo("美国允许英伟达出售H200芯片", "美国允许英伟达出售H200芯片") == 1.0
    checked = check_turns(["早上好", "H100很强。", "H100很强。"], [False, True, True], article,
                          "zh-CN", 10)
    assert [(p.turn, p.check) for p in checked.problems] == [
        (2, "grounding"), (3, "grounding"), (3, "echo"), (0, "length")]


# ---------------------------------------------------------------- drafting


def test_a_draft_from_the_damaged_article_parses_as_a_script(show: Path, chat: ChatServer
                                                             ) -> None:
    result = draft(show, chat, minutes=2.0, url="https://example.com/h200")
    script = parse_script(result.script, workspace=show)
    assert script.meta.lifecycle.status == "draft"
    assert script.hosts == ("雷总", "董小姐")
    assert script.sections and script.meta.source and script.meta.source.file
    assert script.meta.source.file.read_bytes() == ARTICLE.read_bytes()
    first = script.turns[0]
    assert first.speaker == "雷总" and "12月10日" in first.text and "芯闻两人谈" in first.text
    assert all(language_share(t.text, "zh-CN") > 0.6 for t in script.turns)
    report = json.loads(result.sidecar.read_text())
    assert report["unsupported"] == 0
    assert [t.speaker for t in script.turns[:4]] == ["雷总", "董小姐", "雷总", "董小姐"]
    assert chat.calls[0].payload["response_format"]["type"] == "json_schema"


def test_problems_are_listed_turn_by_turn(show: Path, chat: ChatServer) -> None:
    chat.knobs.answer = lambda payload, schema: json.dumps(
        {"turns": [{"speaker": "雷总", "text": "H100的价格是9999美元。"},
                   {"speaker": "董小姐", "text": "H100的价格是9999美元。"}]}
        if "turns" in (schema or {}).get("properties", {}) else
        {"title": "芯片", "movements": [{"heading": "背景", "facts": []}]}, ensure_ascii=False)
    result = draft(show, chat)
    found = {(p.turn, p.check) for p in result.problems}
    assert {(2, "grounding"), (3, "grounding"), (3, "echo"), (0, "length")} <= found
    text = result.script.read_text()
    assert "#   turn 3: echo" in text and "H100" in text
    parse_script(result.script, workspace=show)


def test_an_english_answer_to_a_chinese_show_is_refused_and_nothing_written(
        show: Path, chat: ChatServer) -> None:
    chat.knobs.english = True
    before = tree_snapshot(show)
    with pytest.raises(DraftRefused, match=r"none of its .* turns is in zh-CN"):
        draft(show, chat)
    assert tree_snapshot(show).keys() - before.keys() <= {
        p for p in tree_snapshot(show) if p.startswith(".duopod/")}


def test_garbage_from_the_model_is_one_refusal(show: Path, chat: ChatServer) -> None:
    chat.knobs.answer = lambda payload, schema: "lol {{ no"
    scripts = sorted((show / "scripts").iterdir())
    with pytest.raises(DraftRefused, match="cannot be made into a draft"):
        draft(show, chat)
    assert sorted((show / "scripts").iterdir()) == scripts


def test_a_draft_never_overwrites_a_file(show: Path, chat: ChatServer) -> None:
    taken = show / "scripts" / "taken.md"
    taken.write_text("mine")
    with pytest.raises(InputError, match="never overwrites"):
        draft(show, chat, out=taken)
    assert taken.read_text() == "mine" and not chat.calls


def test_a_language_no_host_speaks_is_refused(show: Path, chat: ChatServer) -> None:
    ws = load_workspace(show)
    bad = DraftRequest(article=read_article(str(ARTICLE)), hosts=("雷总", "董小姐"),
                       language="fr-FR", date=dt.date(2025, 12, 10))
    with pytest.raises(InputError, match="speaks zh, not fr-FR"):
        draft_script(ws, engine(chat), bad)
    assert not chat.calls


def test_revise_rewrites_one_turn_and_leaves_every_other_byte(show: Path, chat: ChatServer
                                                              ) -> None:
    result = draft(show, chat)
    before = result.script.read_bytes().splitlines(keepends=True)
    ws = load_workspace(show)
    chat.knobs.answer = lambda payload, schema: json.dumps({"text": "英伟达H200芯片出口中国。"},
                                                           ensure_ascii=False)
    revised = revise_turn(ws, engine(chat), result.script, 3, "更短一点")
    after = result.script.read_bytes().splitlines(keepends=True)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 1 and after[changed[0]] == "英伟达H200芯片出口中国。\n".encode()
    assert revised.new == "英伟达H200芯片出口中国。"
    assert parse_script(result.script, workspace=show).turns[2].text == revised.new


# ---------------------------------------------------------------- length and context


def resize_calls(chat: ChatServer) -> list[str]:
    """The user prompts of the length passes' requests."""
    return [c.payload["messages"][-1]["content"] for c in chat.calls
            if "Rewrite part" in c.payload["messages"][-1]["content"]]


def test_the_length_pass_brings_a_long_draft_within_15_percent(show: Path, chat: ChatServer
                                                               ) -> None:
    """The stand-in's first answers are far longer than asked; the movements over their
    share are asked again, cut to it, and the draft lands within 15% of --minutes."""
    result = draft(show, chat, minutes=2.0)
    report = json.loads(result.sidecar.read_text())
    assert result.length_passes >= 1 and report["length_passes"] == result.length_passes
    assert abs(result.checked.minutes - 2.0) <= 0.15 * 2.0, report
    assert not any(p.check == "length" for p in result.problems), result.problems
    asked = resize_calls(chat)
    assert asked and all(re.search(r"has \d+ Chinese characters; its share of the episode "
                                   r"is \d+\. Cut it", a) for a in asked)
    assert sum(m["size"] for m in report["movements"]) < 2.3 * 175


def test_a_model_that_ignores_the_length_pass_is_listed_movement_by_movement(
        show: Path, chat: ChatServer) -> None:
    chat.knobs.ignore_length = True
    result = draft(show, chat, minutes=2.0)
    assert result.length_passes == 2
    misses = [p for p in result.problems if p.check == "length"]
    assert any(p.turn == 0 for p in misses)
    per_movement = [p for p in misses if p.turn > 0]
    report = json.loads(result.sidecar.read_text())
    off = [m for m in report["movements"] if abs(m["size"] - m["share"]) > 0.15 * m["share"]]
    assert len(per_movement) == len(off) >= 1
    assert all("share is" in p.message and "after 2 length passes" in p.message
               for p in per_movement)
    assert len(off) + 1 <= len(resize_calls(chat)) <= 2 * len(report["movements"])
    script = parse_script(result.script, workspace=show)
    for problem in per_movement:  # each named at its movement's first turn
        section = script.turns[problem.turn - 1].section
        assert section is not None and script.turns[problem.turn - 2].section != section
    text = result.script.read_text()
    assert "length: movement" in text


def spoiled_resize(kind: str):
    """The stand-in's answers, except a length pass's, answered with prose or with JSON cut
    off mid-turn (as a model stopped by max_tokens or a server cut short leaves it)."""
    from chat_server import answer_for

    def answer(payload: dict, schema: dict | None) -> str:
        user = payload["messages"][-1]["content"]
        if "Rewrite part" not in user:
            return answer_for(payload, schema)
        if kind == "prose":
            return "好的，下面是改写后的内容：雷总说芯片很重要，董小姐表示同意。"
        return '{"turns": [{"speaker": "雷总", "te'

    return answer


@pytest.mark.parametrize("kind", ["prose", "truncated"])
def test_a_failed_length_pass_keeps_the_first_draft_and_lists_the_miss(
        show: Path, chat: ChatServer, kind: str) -> None:
    """Issue 39: a length pass whose answer is not JSON, or is cut off, used to throw the
    whole draft away (exit 1, nothing written). The movement keeps its last good version
    and the miss is listed."""
    chat.knobs.answer = spoiled_resize(kind)
    result = draft(show, chat, minutes=2.0)
    assert resize_calls(chat), "the stand-in's first answers are long: a pass is asked"
    script = parse_script(result.script, workspace=show)
    assert len(script.turns) > 3 and script.sections
    failed = [p for p in result.problems if "failed" in p.message]
    assert failed and all(p.check == "length" and p.turn >= 2 and "last good version is kept"
                          in p.message for p in failed)
    report = json.loads(result.sidecar.read_text())
    assert report["failed_length_passes"] and all(
        m["pass"] in (1, 2) and m["movement"] for m in report["failed_length_passes"])
    assert "length pass 1 of movement" in result.script.read_text()
    for problem in failed:  # named at its movement's first turn
        section = script.turns[problem.turn - 1].section
        assert section is not None and script.turns[problem.turn - 2].section != section


def test_a_stream_cut_short_by_the_next_request_is_asked_again_one_at_a_time(
        chat: ChatServer) -> None:
    """llama-cpp-python's server ends a streamed answer with [DONE] and no finish reason
    when another request arrives (interrupt_requests): the cause of the spoiled length
    passes. Such an answer is asked again, and the server one request at a time after."""
    chat.knobs.interrupt = True
    made = engine(chat, concurrency=2)

    async def go() -> list[str]:
        try:
            return [c.text for c in await asyncio.gather(*(made.complete(ChatRequest(
                f"q{i}", (("system", "s"), ("user", f"第{i}个问题。好的好的，说点什么吧。")),
                SCHEMA)) for i in range(4)))]
        finally:
            await made.close()

    texts = asyncio.run(go())
    assert all(json.loads(t)["text"] for t in texts)
    assert chat.interrupted >= 1 and made._gate.size == 1


def test_no_length_pass_when_none_is_allowed(show: Path, chat: ChatServer) -> None:
    result = draft(show, chat, minutes=2.0, length_passes=0)
    assert result.length_passes == 0 and not resize_calls(chat)
    assert any(p.turn == 0 and p.check == "length" for p in result.problems)


def numbered_turns(payload: dict, schema: dict | None) -> str:
    """Two turns a movement, saying which movement they are for; a two-movement plan."""
    user = payload["messages"][-1]["content"]
    if "turns" in (schema or {}).get("properties", {}):
        part = re.search(r"Write part (\d+)", user)
        n = part.group(1) if part else "0"
        return json.dumps({"turns": [
            {"speaker": "雷总", "text": f"第{n}部分的开头，美方允许英伟达出售芯片。"},
            {"speaker": "董小姐", "text": f"第{n}部分的结尾，中方还没有表态。"}]},
            ensure_ascii=False)
    return json.dumps({"title": "芯片", "movements": [
        {"heading": "背景", "facts": ["美方允许英伟达向中国出售H200芯片"]},
        {"heading": "影响", "facts": ["中方没有表态"]},
        {"heading": "下一步", "facts": ["英伟达股价上涨"]}]}, ensure_ascii=False)


def test_each_movement_is_told_what_the_ones_before_said(show: Path, chat: ChatServer
                                                         ) -> None:
    chat.knobs.answer = numbered_turns
    draft(show, chat, length_passes=0)
    prompts = {int(m.group(1)): u for c in chat.calls
               if (m := re.search(r"Write part (\d+)", u := c.payload["messages"][-1]["content"]))}
    assert sorted(prompts) == [1, 2, 3]
    assert "Already said" not in prompts[1]
    # the greeting is turn 1 (雷总), so movement 1's turns are 董小姐's and 雷总's
    assert "董小姐: 第1部分的开头" in prompts[2] and "雷总: 第1部分的结尾" in prompts[2]
    assert "美方允许英伟达向中国出售H200芯片" in prompts[2].split("Already said", 1)[1]
    third = prompts[3].split("Already said", 1)[1]
    assert "part 1 '背景'" in third and "part 2 '影响'" in third and "中方没有表态" in third
    assert "第2部分的结尾" in third and "第1部分的开头" not in third  # last turns only


def test_an_echo_across_movements_is_reported(show: Path, chat: ChatServer) -> None:
    """Every movement says the same two turns: no turn repeats the one before it, but
    movements 2 and 3 repeat movement 1."""
    def same(payload: dict, schema: dict | None) -> str:
        answer = numbered_turns(payload, schema)
        return re.sub(r"第\d部分的", "", answer)

    chat.knobs.answer = same
    result = draft(show, chat, length_passes=0)
    echoes = [(p.turn, p.message) for p in result.problems if p.check == "echo"]
    assert (4, "100% of it repeats turn 2, in movement 1") in echoes
    assert (5, "100% of it repeats turn 3, in movement 1") in echoes
    assert {t for t, _m in echoes} == {4, 5, 6, 7}
    assert "#   turn 4: echo" in result.script.read_text()


# ---------------------------------------------------------------- the command


def test_the_command_drafts_prints_problems_and_the_cost_line(show: Path, chat: ChatServer
                                                              ) -> None:
    done = run_cli(show, "draft", str(ARTICLE), "--base-url", chat.url, "--date",
                   "2025-12-10", "--minutes", "2", "--out", "scripts/h200-draft.md")
    assert done.returncode == 0, done.stderr
    assert "drafted" in done.stdout and "writer:" in done.stdout
    assert "completion tokens" in done.stdout
    calls = len(chat.calls)
    again = run_cli(show, "draft", str(ARTICLE), "--base-url", chat.url, "--date",
                    "2025-12-10", "--minutes", "2", "--out", "scripts/h200-again.md")
    assert again.returncode == 0 and len(chat.calls) == calls  # all from the cache
    assert "cached" in again.stdout


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary" * 10])
def test_empty_and_binary_articles_are_one_line_and_exit_2(show: Path, content: bytes) -> None:
    bad = show / "bad.txt"
    bad.write_bytes(content)
    before = tree_snapshot(show)
    done = run_cli(show, "draft", "bad.txt", "--base-url", "http://127.0.0.1:9/v1")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert tree_snapshot(show) == before


def test_a_server_that_is_down_exits_1_and_writes_nothing(show: Path) -> None:
    (show / "show.toml").write_text((show / "show.toml").read_text().replace(
        'model = "default"', 'model = "default"\nretry_for = 0.5'))
    before = {p for p in tree_snapshot(show) if not p.startswith(".duopod/")}
    done = run_cli(show, "draft", str(ARTICLE), "--base-url", "http://127.0.0.1:9/v1")
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "connection failed" in done.stderr
    assert {p for p in tree_snapshot(show) if not p.startswith(".duopod/")} == before


def test_json_cut_off_by_max_tokens_keeps_what_came_before() -> None:
    from duopod.draft.schema import SchemaError, parse_answer

    schema = {"type": "object", "required": ["turns"], "properties": {"turns": {
        "type": "array", "items": {"type": "string", "maxLength": 5}}}}
    assert parse_answer('{"turns": ["一二三四五六七", "好的", "这是一个很', schema) == {
        "turns": ["一二三四五", "好的", "这是一个很"]}
    with pytest.raises(SchemaError, match="not JSON"):
        parse_answer("as a language model I cannot", schema)
    with pytest.raises(SchemaError, match="has no 'turns'"):
        parse_answer('{"other": 1', schema)


def test_traditional_characters_become_simplified_and_a_latin_heading_is_a_problem(
        show: Path, chat: ChatServer) -> None:
    chat.knobs.answer = lambda payload, schema: json.dumps(
        {"turns": [{"speaker": "雷总", "text": "據路透社報道，英偉達H200芯片可以對華出售。"},
                   {"speaker": "董小姐", "text": "外交部發言人郭嘉昆主持例行記者會。"}]}
        if "turns" in (schema or {}).get("properties", {}) else
        {"title": "芯片", "movements": [{"heading": "the anchor: opens", "facts": []}]},
        ensure_ascii=False)
    result = draft(show, chat)
    script = parse_script(result.script, workspace=show)
    assert script.turns[1].text == "据路透社报道，英伟达H200芯片可以对华出售。"
    assert any(p.turn == 0 and "heading 'the anchor: opens'" in p.message
               for p in result.problems)
    assert not any(p.check == "grounding" for p in result.problems)


@pytest.mark.slow
def test_from_the_damaged_article_to_a_published_chinese_episode(show: Path, chat: ChatServer
                                                                 ) -> None:
    """Issue 23's whole path through the commands a producer runs: `duopod draft` of the
    scraped, damaged article, `duopod check`, then `duopod build` of the draft with its
    status set to published and written notes asked for: a Chinese episode in the feed of
    the asked length (the stand-in's first answers are far longer than asked: the length
    pass cuts them), the source article attached, and notes in the example page's shape."""
    import feedparser
    from conftest import decode_mp3

    from duopod.audio.decode import SAMPLE_RATE

    toml = show / "show.toml"
    text = re.sub(r'base_url = "http://127\.0\.0\.1:8080/v1"[^\n]*', f'base_url = "{chat.url}"',
                  toml.read_text("utf-8"))
    toml.write_text(text.replace('notes_language = "en"', 'notes_language = "zh-CN"\n'
                                 'notes = "written"'), "utf-8")
    done = run_cli(show, "draft", str(ARTICLE), "--date", "2025-12-10", "--minutes", "2",
                   "--out", "scripts/h200-draft.md")
    assert done.returncode == 0, done.stderr
    assert "length pass" in done.stdout, done.stdout
    script = show / "scripts" / "h200-draft.md"
    checked = run_cli(show, "check", "scripts/h200-draft.md", "--engine", "espeak")
    assert checked.returncode == 0, checked.stderr
    script.write_text(script.read_text("utf-8").replace("status: draft", "status: published"),
                      "utf-8")
    built = run_cli(show, "build", "scripts/h200-draft.md", "--engine", "espeak")
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip().splitlines()[-1] == "published: in the feed", built.stdout
    feed = feedparser.parse((show / "episodes" / "feed.xml").read_bytes())
    mine = [e for e in feed.entries if e.get("published", "").startswith("Wed, 10 Dec 2025")]
    assert mine, [e.title for e in feed.entries]
    folder = next((show / "episodes").glob("2025-12-10-*/episode.json")).parent
    record = json.loads((folder / "episode.json").read_text("utf-8"))
    assert record["language"] == "zh-CN" and record["source"]
    report = json.loads(script.with_suffix(".draft.json").read_text("utf-8"))
    assert report["length_passes"] >= 1
    assert not any(p["check"] == "length" for p in report["problems"]), report
    mp3 = next(folder.glob("*.mp3"))
    built_minutes = len(decode_mp3(mp3)) / SAMPLE_RATE / 60  # the MP3 itself, decoded
    assert abs(built_minutes - 2) <= 0.15 * 2, (report["minutes"], built_minutes)
    assert abs(record["duration"] / 60 - built_minutes) < 0.05
    notes = (folder / "notes.md").read_text("utf-8")
    found = re.search(r"^## ([^\n]+)\n(.*?)(?=^## )", notes, re.MULTILINE | re.DOTALL)
    assert found, notes
    headline, body = found.groups()
    assert record["notes"]["written"]["headline"] in headline.replace("\\", "")
    assert body.lstrip().startswith("2025-12-10"), body[:200]  # the byline: no author named
    assert re.search(r"^### \S", body, re.MULTILINE) and re.search(r"^\* \S", body,
                                                                     re.MULTILINE), body


def test_the_writers_room_asks_for_backchannels_and_cut_offs_and_counts_them(
        show: Path, chat: ChatServer) -> None:
    """The prompt asks for the conventions the mix lays over each other (issue 37.6); a
    draft that uses them too often is told so, and the sidecar counts them."""
    movement = [{"speaker": h, "text": t} for h, t in (
        ("董小姐", "美国允许英伟达出售H200芯片。"), ("雷总", "嗯。"),
        ("董小姐", "但要逐笔审批——"))]
    chat.knobs.answer = lambda payload, schema: json.dumps(
        {"turns": movement} if "turns" in (schema or {}).get("properties", {}) else
        {"title": "芯片", "movements": [{"heading": "背景", "facts": []}]}, ensure_ascii=False)
    result = draft(show, chat)
    system = chat.calls[-1].payload["messages"][0]["content"]
    assert "backchannel" in system and "——" in system and "no more" in system
    report = json.loads(result.sidecar.read_text())
    assert report["backchannels"] == 1 and report["interruptions"] == 1
    assert not [p for p in result.problems if p.check == "conventions"]
    script = parse_script(result.script, workspace=show)
    from duopod.script.exchange import Meeting, meetings

    kinds = [m.kind for m in meetings(script)]
    assert Meeting.BACKCHANNEL in kinds and Meeting.INTERRUPTION in kinds


def test_a_draft_that_murmurs_every_other_turn_is_told() -> None:
    from duopod.draft.checks import count_conventions

    texts = ["早上好，欢迎收听。", "新规允许出售芯片。", "嗯。", "但是要逐笔审批。", "对。",
             "美方还要从中抽成。", "是的。", "这是三年来最大的松口——", "但最新的芯片不在名单里。",
             "好，今天就到这里。"]
    counted = count_conventions(texts, [0] * len(texts))
    assert (counted.backchannels, counted.interruptions) == (3, 1)
    (problem,) = counted.problems
    assert problem.check == "conventions" and "3 backchannels in 10 turns" in problem.message
    # a short reply at a movement's edge is a turn, not a backchannel
    assert count_conventions(["甲说了很多话。", "嗯。", "乙说了很多话。"], [0, 1, 1]
                             ).backchannels == 0


# ---------------------------------------------------------------- what a model invents


def inventing(payload: dict, schema: dict | None) -> str:
    """An invented title and heading (a company and a figure the article never names), a
    turn naming someone it never mentions, and a "□" carried over from the damaged page."""
    if "turns" in (schema or {}).get("properties", {}):
        return json.dumps({"turns": [
            {"speaker": "雷总", "text": "据路□社报道，美方允许英伟达向中国出售H200芯片。"},
            {"speaker": "董小姐", "text": "马斯克也表示特斯拉会跟进。"}]}, ensure_ascii=False)
    return json.dumps({"title": "特斯拉的芯片野心", "movements": [
        {"heading": "背景", "facts": ["美方允许英伟达向中国出售H200芯片"]},
        {"heading": "苹果的7000亿计划", "facts": []}]}, ensure_ascii=False)


def test_an_invented_title_heading_name_and_a_box_are_caught(show: Path, chat: ChatServer
                                                             ) -> None:
    chat.knobs.answer = inventing
    result = draft(show, chat, length_passes=0)
    lines = [p.line() for p in result.problems]
    assert any(line.startswith("draft: grounding: title '特斯拉的芯片野心': not in the article: "
                               "特斯拉") for line in lines), lines
    heading = [p for p in result.problems if "heading '苹果的7000亿计划'" in p.message]
    assert heading and heading[0].check == "grounding" and heading[0].turn == 4
    assert "7000" in heading[0].message and "苹果" in heading[0].message
    assert any(p.check == "grounding" and "马斯克" in p.message and "特斯拉" in p.message
               for p in result.problems if p.turn == 3)
    boxed = [p for p in result.problems if p.check == "text"]
    assert [p.turn for p in boxed] == [2, 4] and "U+25A1" in boxed[0].message
    script = parse_script(result.script, workspace=show)  # the draft is clean text
    assert script.turns[1].text == "据路社报道，美方允许英伟达向中国出售H200芯片。"
    done = run_cli(show, "check", str(result.script.relative_to(show)))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("line", "found"), [
    ("据路□社报道，英伟达可以出售H200。", "white square (U+25A1"),
    ("据路透社报道\ufffd，英伟达可以出售H200。", "replacement character (U+FFFD"),
    ("据路透社报道，英伟达可以出售H200。<br/>", "markup '<br/>'"),
    ("据路透社报道&nbsp;英伟达可以出售H200。", "markup '&nbsp;'"),
    ("据路透社报道\x07英伟达可以出售H200。", "control character (U+0007)"),
])
def test_check_refuses_what_is_not_text_at_its_line(show: Path, line: str, found: str) -> None:
    script = show / "scripts" / "boxed.md"
    script.write_text("---\ntitle: 芯片\ndate: 2025-12-10\nhosts: [雷总, 董小姐]\n---\n雷总\n"
                      f"早上好。\n董小姐\n{line}\n", "utf-8")
    done = run_cli(show, "check", "scripts/boxed.md")
    assert done.returncode == 2, done.stdout
    assert "boxed.md:9" in done.stderr and found in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("name", ["brief", "deep-dive", "debate", "critique", "discussion"])
def test_each_format_produces_its_plan_and_the_length_pass_holds(
        show: Path, chat: ChatServer, name: str) -> None:
    """--format asks for its movements in order, tells each host their stance, drafts its
    default length, and the length pass brings the draft within 15% of it."""
    from duopod.draft.formats import FORMATS

    shape = FORMATS[name]
    result = draft(show, chat, minutes=shape.minutes, format=shape)
    outline = next(c.payload for c in chat.calls
                   if "Plan the episode" in c.payload["messages"][-1]["content"])
    asked = outline["messages"][-1]["content"]
    for i, movement in enumerate(shape.movements):
        assert f"{i + 1}. {movement}" in asked
    schema = outline["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["movements"]["maxItems"] == len(shape.movements)
    system = outline["messages"][0]["content"]
    for stance in shape.stances:
        assert stance in system
    report = json.loads(result.sidecar.read_text())
    assert report["format"] == name and report["plan"] == list(shape.movements)
    assert len(report["movements"]) == len(shape.movements)
    movement_prompts = [c.payload["messages"][-1]["content"] for c in chat.calls
                        if "Write part" in c.payload["messages"][-1]["content"]]
    assert any(f"({shape.movements[-1]})" in p for p in movement_prompts)
    assert abs(result.checked.minutes - shape.minutes) <= 0.15 * shape.minutes, report
    assert not any(p.check == "length" for p in result.problems), result.problems
    assert len(parse_script(result.script, workspace=show).sections) == len(shape.movements)


def test_an_unknown_format_is_one_line_naming_the_formats(show: Path) -> None:
    done = run_cli(show, "draft", str(ARTICLE), "--format", "podcast-of-doom")
    assert done.returncode == 2 and "choose from discussion, brief, deep-dive" in done.stderr


def test_the_shows_greeting_opens_its_own_language_and_another_gets_its_own(
        show: Path) -> None:
    """show.toml's greeting is written in the show's language: an English episode of the
    Mandarin show opened with "今天是December 10，星期Wednesday" and the Chinese sign-off."""
    from duopod.draft.writer import greeting, sign_off
    from duopod.show.workspace import load_workspace

    toml = show / "show.toml"
    toml.write_text(toml.read_text("utf-8") + '\n[feed."en-US"]\ntitle = "Chip Talk"\n',
                    "utf-8")
    ws = load_workspace(show)
    template, closing = ws.show.writer.greeting, ws.show.writer.sign_off
    assert template is not None and "星期" in template
    day = dt.date(2025, 12, 10)
    chinese = greeting(ws, template, "雷总", day, "zh-CN")
    assert chinese.startswith("早上好，我是雷总，今天是12月10日，星期三") and ws.show.title in chinese
    english = greeting(ws, template, "Alex", day, "en-US")
    assert english == "Good morning, I'm Alex. It's Wednesday, December 10, and this is Chip Talk."
    assert sign_off(ws, closing, "en-US") == "That's all for today on Chip Talk. See you next time."
    assert sign_off(ws, closing, "zh-CN").startswith("好了，今天的" + ws.show.title)
