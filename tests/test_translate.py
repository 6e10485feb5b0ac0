"""duopod translate against the stand-in chat server (the real client, real sockets): the
held-out example's English version keeps the hosts, sections, turns, stage directions and
every number; bad input is one line; and, built, the two versions' feeds link each other
(issue 26, item 2)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_server import ChatServer
from conftest import MANDARIN, run_cli, tree_snapshot

from duopod.draft import ChatOptions, get_chat_engine
from duopod.draft.checks import claims
from duopod.draft.settings import WriterSettings
from duopod.draft.translate import kept_claims, translate_script
from duopod.draft.writer import DraftRefused
from duopod.errors import InputError
from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    stand_in = ChatServer().start()
    yield stand_in
    stand_in.stop()


def translate(show: Path, chat: ChatServer, script: str = f"scripts/{MANDARIN}",
              language: str = "en-US"):  # type: ignore[no-untyped-def]
    ws = load_workspace(show)
    engine = get_chat_engine(WriterSettings(base_url=chat.url, model="stand-in"),
                             ChatOptions(cache_dir=ws.cache_dir, retry_for=1))
    return translate_script(ws, engine, show / script, language)


def _digits_and_codes(text: str) -> list[str]:
    return [c for c in claims(text) if re.search(r"[0-9A-Za-z]", c)]


def test_the_english_version_keeps_hosts_sections_turns_and_numbers(show: Path,
                                                                   chat: ChatServer) -> None:
    original = parse_script(show / "scripts" / MANDARIN, workspace=show)
    result = translate(show, chat)
    assert result.script == show / "scripts" / "2025-12-10-h200.en-US.md"
    version = parse_script(result.script, workspace=show)
    assert version.hosts == original.hosts == ("雷总", "董小姐")
    assert [t.speaker for t in version.turns] == [t.speaker for t in original.turns]
    assert [t.section for t in version.turns] == [t.section for t in original.turns]
    assert len(version.sections) == len(original.sections) == 4
    for mine, theirs in zip(version.turns, original.turns, strict=True):
        assert not kept_claims(theirs.text, mine.text), (theirs.text, mine.text)
        assert not re.search(r"[\u4e00-\u9fff]", mine.text.replace("雷总", "").replace(
            "董小姐", "")), mine.text
    numbers = [c for t in original.turns for c in _digits_and_codes(t.text)]
    assert {"H200", "H20", "141GB", "671B", "Blackwell", "12", "10"} <= set(numbers)
    life = version.meta.lifecycle
    assert life.language == "en-US" and life.status == "draft"
    assert life.translation_of == original.meta.slug
    assert version.meta.slug == f"{original.meta.slug}-en-us"
    assert version.meta.source is not None and version.meta.source.text  # same article
    report = json.loads(result.sidecar.read_text("utf-8"))
    assert report["translation_of"] == original.meta.slug and report["turns"] == 31
    assert not [p for p in result.problems if p.check != "grounding"], result.problems


def test_stage_directions_stay_in_their_turns(show: Path, chat: ChatServer) -> None:
    path = show / "scripts" / MANDARIN
    text = path.read_text("utf-8")
    text = text.replace("我们今天就把这件事拆开来聊。", "（停顿2秒）我们今天就把这件事拆开来聊。（笑）")
    path.write_text(text, "utf-8")
    original = parse_script(path, workspace=show)
    result = translate(show, chat)
    version = parse_script(result.script, workspace=show)
    kinds = [[d.kind for d in t.directions] for t in version.turns]
    assert kinds == [[d.kind for d in t.directions] for t in original.turns]
    assert kinds[2] == ["pause", "laugh"]
    assert not [p for p in result.problems if p.check == "directions"]


def test_a_lost_number_is_a_problem_of_its_turn(show: Path, chat: ChatServer) -> None:
    from chat_server import answer_for

    def drop_141(payload, schema):  # type: ignore[no-untyped-def]
        return answer_for(payload, schema).replace("141GB", "a lot of memory")

    chat.knobs.answer = drop_141
    result = translate(show, chat)
    lost = [p for p in result.problems if "lost from the original" in p.message]
    assert [p.turn for p in lost] == [7] and "141GB" in lost[0].message
    assert "turn 7: grounding: lost from the original: 141GB" in result.script.read_text("utf-8")


def test_a_text_missing_from_the_answer_writes_nothing(show: Path, chat: ChatServer) -> None:
    from chat_server import answer_for

    def one_short(payload, schema):  # type: ignore[no-untyped-def]
        answer = json.loads(answer_for(payload, schema))
        answer["translations"] = answer["translations"][:-1]
        return json.dumps(answer, ensure_ascii=False)

    chat.knobs.answer = one_short
    before = {p for p in tree_snapshot(show) if not p.startswith(".duopod/")}
    with pytest.raises(DraftRefused, match="cannot be made into a translation"):
        translate(show, chat)
    assert {p for p in tree_snapshot(show) if not p.startswith(".duopod/")} == before


def test_a_translation_never_overwrites_and_refuses_its_own_language(show: Path,
                                                                    chat: ChatServer) -> None:
    first = translate(show, chat)
    written = first.script.read_bytes()
    with pytest.raises(InputError, match="never overwrites"):
        translate(show, chat)
    assert first.script.read_bytes() == written
    with pytest.raises(InputError, match="already in zh-CN"):
        translate(show, chat, language="zh-CN")
    with pytest.raises(InputError, match="itself a version"):
        translate(show, chat, script="scripts/2025-12-10-h200.en-US.md", language="fr-FR")


@pytest.mark.parametrize(("args", "message"), [
    (["scripts/none.md", "--to", "en-US"], "none.md"),
    ([f"scripts/{MANDARIN}", "--to", "English!"], "--to must be a language tag"),
    ([f"scripts/{MANDARIN}", "--to", "zh-CN"], "already in zh-CN"),
    ([f"scripts/{MANDARIN}", "--to", "ja-JP"], "no voice for ja-JP"),
])
def test_bad_input_is_one_line_and_exit_2(show: Path, args: list[str], message: str) -> None:
    before = tree_snapshot(show)
    done = run_cli(show, "translate", *args, "--base-url", "http://127.0.0.1:9/v1")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
    assert tree_snapshot(show) == before


def test_the_command_prints_the_version_and_the_cost_line(show: Path, chat: ChatServer
                                                          ) -> None:
    done = run_cli(show, "translate", f"scripts/{MANDARIN}", "--to", "en-US", "--base-url",
                   chat.url, "--model", "stand-in")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("translated ") and "31 turns in 4 sections" in done.stdout
    assert "writer:" in done.stdout
    checked = run_cli(show, "check", "scripts/2025-12-10-h200.en-US.md", "--engine", "espeak")
    assert checked.returncode == 0, checked.stderr
    assert "espeak en-us [espeak.\"en-US\"]" in checked.stdout  # the hosts' English voices
