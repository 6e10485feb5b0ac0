"""The studio's request bodies: each endpoint's JSON is read into its own dataclass in one
place, so a bad field is a 400 naming it in one line (never a 500, never a field quietly
taken for something else), and nothing on disk changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from conftest import MANDARIN
from test_studio import csrf, post, with_client
from test_studio import show as show  # the fixture

from duopod.shapes import ShapeError, shaped
from duopod.studio.bodies import DraftBody, HearBody, LexiconBody, StatusBody

BAD_BODIES: list[tuple[str, Any, str]] = [
    ("/api/check", {"name": MANDARIN}, "text: missing"),
    ("/api/save", {"name": MANDARIN, "text": "x", "sha256": 5}, "sha256: a string is needed"),
    ("/api/new", {"title": ["a list"]}, "title: a string is needed"),
    ("/api/draft", {"article": "x", "minutes": 500}, "minutes: a number from 0.5 to 120"),
    ("/api/draft", {"article": "x", "minutes": True}, "minutes: a number is needed"),
    ("/api/hear", {"name": MANDARIN, "turn": True}, "turn: a whole number is needed"),
    ("/api/hear", {"name": MANDARIN, "turn": 0, "sentence": "1"},
     "sentence: a whole number (or null) is needed"),
    ("/api/stale", {"name": MANDARIN, "engine": 3}, "engine: a string (or null) is needed"),
    ("/api/build", {"engine": "espeak"}, "name: missing"),
    ("/api/lexicon", {"name": MANDARIN, "written": "a", "spoken": "b"}, "turn: missing"),
    ("/api/lexicon", {"written": "a", "spoken": "b", "save": "yes"}, "save: true or false"),
    ("/api/status", {"name": MANDARIN, "status": "scheduled", "at": "next tuesday"},
     "at: a moment like 2030-01-02T07:30:00+08:00"),
    ("/api/status", {"name": MANDARIN, "status": "gone"}, "status: one of 'draft'"),
    ("/api/unpublish", ["a", "list"], "a JSON object is needed"),
]


def test_a_bad_field_is_a_400_naming_it(show: Path) -> None:
    script = show / "scripts" / MANDARIN
    before = script.read_bytes()

    async def body(client: TestClient) -> list[tuple[int, str]]:
        answers = []
        for url, sent, _words in BAD_BODIES:
            response = await post(client, url, sent)
            answers.append((response.status, await response.text()))
        token = await csrf(client)
        response = await client.post("/api/save", data=b"{not json",
                                     headers={"X-Duopod-CSRF": token,
                                              "Content-Type": "application/json"})
        answers.append((response.status, await response.text()))
        return answers

    answers = with_client(show, body)
    for (url, _sent, words), (status, text) in zip(BAD_BODIES, answers, strict=False):
        assert status == 400, (url, status, text)
        assert words in text and text.count("\n") == 1, (url, text)
    assert answers[-1][0] == 400 and "not JSON" in answers[-1][1]
    assert script.read_bytes() == before


def test_the_bodies_the_page_sends_are_read_as_sent() -> None:
    """The shapes static/app.js posts (an empty engine or url, a sentence left out)."""
    hear = shaped(HearBody, {"name": MANDARIN, "text": "…", "turn": 2, "engine": ""})
    assert (hear.turn, hear.sentence, hear.engine) == (2, None, "")
    assert shaped(DraftBody, {"article": "a", "url": "", "minutes": 5}).minutes == 5.0
    kept = shaped(LexiconBody, {"name": MANDARIN, "save": "script", "sha256": "ab",
                                "written": "英伟达", "spoken": "英伟大"})
    assert kept.save == "script" and kept.turn is None
    assert shaped(LexiconBody, {"save": True, "language": "zh-CN", "written": "a",
                                "spoken": "b"}).name is None
    scheduled = shaped(StatusBody, {"name": MANDARIN, "status": "scheduled", "sha256": "ab",
                                    "at": "2030-01-02T07:30:00+08:00"})
    assert scheduled.moment().isoformat() == "2030-01-02T07:30:00+08:00"
    with pytest.raises(ShapeError, match=r"^at: "):
        StatusBody(MANDARIN, "scheduled")  # the same check for a body made in code


def test_a_keep_answered_after_the_save_brings_nothing_back(show: Path) -> None:
    """The editor keeps unsaved text 0.4 s after the last key; a save can land between
    that request's sending and its handling. Text that is the file now is nothing unsaved
    (the browser test saw the kept copy outlive the save it was part of)."""
    script = show / "scripts" / MANDARIN
    unsaved = show / ".duopod" / "studio" / "unsaved"
    text = script.read_text("utf-8") + "\n雷总\n新的一句。\n"

    async def body(client: TestClient) -> list[bool]:
        kept = await post(client, "/api/unsaved", {"name": MANDARIN, "text": text,
                                                   "base": "x", "at": 1})
        shown = (await (await client.get(f"/api/script?name={MANDARIN}")).json())["sha256"]
        saved = await post(client, "/api/save", {"name": MANDARIN, "text": text,
                                                 "sha256": shown})
        assert saved.status == 200, await saved.text()
        late = await post(client, "/api/unsaved", {"name": MANDARIN, "text": text,
                                                   "base": shown, "at": 2})
        more = await post(client, "/api/unsaved", {"name": MANDARIN, "text": text + "再一句。",
                                                   "base": shown, "at": 3})
        return [(await r.json())["kept"] for r in (kept, late, more)]

    assert with_client(show, body) == [True, False, True]
    assert script.read_text("utf-8") == text
    assert len(list(unsaved.glob("*.json"))) == 1  # the text typed after the save is kept
