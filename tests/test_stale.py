"""stale_turns: the turns a build would render, counted before building (studio, issue 24)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import MANDARIN

from duopod.script.parse import parse_script
from duopod.show.workspace import load_workspace
from duopod.speech.engines import get_engine
from duopod.speech.lexicon import script_speller
from duopod.speech.render import TurnEvent, render_turns_async, stale_turns


def test_stale_turns_names_exactly_the_turns_a_build_would_render(show: Path) -> None:
    path = show / "scripts" / MANDARIN
    engine = get_engine("espeak")

    def stale_and_rendered() -> tuple[list[int], set[int]]:
        ws = load_workspace(show)
        script = parse_script(path)
        spell = script_speller(ws, script, "espeak").say
        stale = stale_turns(script, ws, engine, spell)
        events: list[TurnEvent] = []
        asyncio.run(render_turns_async(script, ws, engine, progress=events.append,
                                       spoken=spell))
        return stale, {e.turn.index for e in events if e.status == "done"}

    count = len(parse_script(path).turns)
    assert stale_and_rendered() == (list(range(count)), set(range(count)))
    assert stale_and_rendered() == ([], set())
    edited = parse_script(path).turns[1]
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[edited.line] += "好。"  # the line after the speaker's name: the turn's text
    path.write_text("\n".join(lines), encoding="utf-8")
    assert stale_and_rendered() == ([1], {1})
