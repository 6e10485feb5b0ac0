"""The studio through aiohttp's test client (fast): the editor's checks, saves that never
lose an edit, hearing a turn through the cache, and the guard (token, Host, CSRF, paths).
The browser tests are in test_studio_browser.py."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import threading
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from conftest import MANDARIN, REPO, copy_show

from duopod.studio import make_app
from duopod.studio.library import digest

Body = Callable[[TestClient], Awaitable[Any]]


@pytest.fixture
def show(tmp_path: Path) -> Path:
    """The example show with its lexicon."""
    root = copy_show(tmp_path / "show")
    shutil.copy(REPO / "lexicon.toml", root / "lexicon.toml")
    return root


def with_client(root: Path, body: Body, *, token: str | None = None, loopback: bool = True
                ) -> Any:
    async def main() -> Any:
        app = make_app(root, token=token, loopback=loopback, engine="espeak")
        async with TestClient(TestServer(app)) as client:
            return await body(client)

    return asyncio.run(main())


async def csrf(client: TestClient, headers: dict[str, str] | None = None) -> str:
    page = await (await client.get("/", headers=headers)).text()
    match = re.search(r'name="csrf" content="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


async def post(client: TestClient, url: str, body: dict[str, Any]) -> Any:
    token = await csrf(client)
    return await client.post(url, json=body, headers={"X-Duopod-CSRF": token})


def test_episodes_page_lists_every_script_with_its_state(show: Path) -> None:
    async def body(client: TestClient) -> str:
        response = await client.get("/")
        assert response.status == 200
        return await response.text()

    page = with_client(show, body)
    assert "芯片出口新规下的算力之争" in page
    assert page.count('data-state="not built"') == 2
    assert f'href="/edit/{MANDARIN}"' in page


def test_a_typo_in_a_host_line_is_an_error_at_its_line(show: Path) -> None:
    text = (show / "scripts" / MANDARIN).read_text(encoding="utf-8")
    lines = text.split("\n")
    typo_line = lines.index("董小姐") + 1
    lines[typo_line - 1] = "董小组"

    async def body(client: TestClient) -> tuple[Any, Any]:
        bad = await (await post(client, "/api/check", {"name": MANDARIN,
                                                        "text": "\n".join(lines)})).json()
        good = await (await post(client, "/api/check", {"name": MANDARIN, "text": text})).json()
        return bad, good

    bad, good = with_client(show, body)
    errors = [p for p in bad["problems"] if p["level"] == "error"]
    assert errors and errors[0]["line"] == typo_line, bad
    assert "董小组" in errors[0]["message"]
    assert not [p for p in good["problems"] if p["level"] == "error"]
    outline = good["outline"]
    assert [h["name"] for h in outline["hosts"]] == ["雷总", "董小姐"]
    assert outline["turns"][0]["speaker"] == "雷总" and outline["sections"]
    assert any(hit["written"] == "H200" for hit in outline["lexicon"])


def test_a_save_over_a_file_changed_on_disk_is_refused(show: Path) -> None:
    path = show / "scripts" / MANDARIN
    opened = digest(path.read_bytes())
    theirs = path.read_text(encoding="utf-8").replace("早上好", "晚上好")
    path.write_text(theirs, encoding="utf-8")  # another editor saved meanwhile

    async def body(client: TestClient) -> tuple[int, Any, int, Any]:
        refused = await post(client, "/api/save", {"name": MANDARIN, "text": "mine",
                                                   "sha256": opened})
        current = digest(path.read_bytes())
        mine = theirs.replace("晚上好", "中午好")
        saved = await post(client, "/api/save", {"name": MANDARIN, "text": mine,
                                                 "sha256": current})
        return refused.status, await refused.json(), saved.status, await saved.json()

    status, answer, saved_status, saved = with_client(show, body)
    assert status == 409 and "changed on disk" in answer["error"]
    assert saved_status == 200
    assert "中午好" in path.read_text(encoding="utf-8")
    assert saved["sha256"] == digest(path.read_bytes())
    assert not list(path.parent.glob(".*tmp*"))


@pytest.mark.parametrize("name", ["../show.toml", "../../etc/passwd.md", "/etc/x.md",
                                  ".hidden.md", "sources/../../show.md", "x.toml",
                                  "a" * 5000 + ".md", "b/" * 600 + "c.md"])
def test_paths_never_leave_the_scripts_folder(show: Path, name: str) -> None:
    async def body(client: TestClient) -> tuple[int, int]:
        read = await client.get("/api/script", params={"name": name})
        wrote = await post(client, "/api/save", {"name": name, "text": "x", "sha256": ""})
        return read.status, wrote.status

    read, wrote = with_client(show, body)
    assert read == 422 and wrote == 422
    assert not (show.parent / "show.md").exists()


def test_beyond_loopback_every_request_needs_the_token(show: Path) -> None:
    async def body(client: TestClient) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for path in ("/", f"/edit/{MANDARIN}", "/api/feed", "/site/", "/static/app.js"):
            response = await client.get(path)
            results[path] = (response.status, await response.text())
        wrong = await client.get("/", headers={"Authorization": "Bearer nope"})
        results["wrong"] = wrong.status
        right = await client.get("/", headers={"Authorization": "Bearer s3cret-token"})
        results["right"] = right.status
        # the token in the address becomes a cookie, and leaves the address
        first = await client.get("/?token=s3cret-token", allow_redirects=False)
        results["redirect"] = (first.status, first.headers.get("Location"))
        results["cookie"] = (await client.get("/")).status
        return results

    results = with_client(show, body, token="s3cret-token", loopback=False)
    for path in ("/", f"/edit/{MANDARIN}", "/api/feed", "/site/", "/static/app.js"):
        status, text = results[path]
        assert status == 401, path
        assert "芯" not in text and "雷总" not in text
    assert results["wrong"] == 401 and results["right"] == 200
    assert results["redirect"] == (303, "/")
    assert results["cookie"] == 200


def test_a_rebinding_host_name_and_a_missing_csrf_token_are_refused(show: Path) -> None:
    path = show / "scripts" / MANDARIN
    before = path.read_bytes()

    async def body(client: TestClient) -> tuple[int, int, int, int]:
        rebound = await client.get("/", headers={"Host": "evil.example:8765"})
        token = await csrf(client)
        no_csrf = await client.post("/api/save", json={"name": MANDARIN, "text": "x",
                                                       "sha256": digest(before)})
        other_site = await client.post(
            "/api/save", json={"name": MANDARIN, "text": "x", "sha256": digest(before)},
            headers={"X-Duopod-CSRF": token, "Origin": "http://evil.example"})
        localhost = await client.get("/", headers={"Host": "localhost:8765"})
        return rebound.status, no_csrf.status, other_site.status, localhost.status

    rebound, no_csrf, other_site, localhost = with_client(show, body)
    assert (rebound, no_csrf, other_site, localhost) == (403, 403, 403, 200)
    assert path.read_bytes() == before


def test_a_turn_is_heard_through_the_cache(show: Path) -> None:
    async def body(client: TestClient) -> list[tuple[int, str, bytes]]:
        heard = []
        for _ in range(2):
            response = await post(client, "/api/hear", {"name": MANDARIN, "turn": 0})
            heard.append((response.status, response.headers.get("X-Duopod-Cached", ""),
                          await response.read()))
        stale = await (await post(client, "/api/stale", {"name": MANDARIN})).json()
        heard.append((0, str(stale["stale"][:1]), b""))
        return heard

    (status, cached, wav), (status2, cached2, wav2), (_, stale, _) = with_client(show, body)
    assert status == status2 == 200
    assert (cached, cached2) == ("0", "1")
    assert wav == wav2  # heard as it was rendered, then from the cache: the same samples
    with wave.open(io.BytesIO(wav)) as audio:  # a WAV any player reads (a live stream's)
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (
            1, 2, 44_100)
    assert (len(wav) - 44) / 2 / 44_100 > 0.5
    assert stale == "[1]"  # turn 0 is in the cache now: a build renders from turn 1


def test_hearing_streams_the_first_sentence_before_the_last_is_spoken(
        show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine is held before the turn's last sentence until the listener has audio:
    a stream gets its first sentence through; a whole-turn answer would wait forever."""
    from duopod.speech.engines.espeak import EspeakEngine

    original = EspeakEngine.each_sentence
    spoken: list[int] = []
    listening = threading.Event()

    def held(self: EspeakEngine, sentences: Any, settings: Any) -> Any:
        pieces = original(self, sentences, settings)
        for index in range(len(sentences)):
            if index == len(sentences) - 1:
                listening.wait(120)  # a guard against a hang, not a timing
            audio = next(pieces)
            spoken.append(index)
            yield audio
        pieces.close()

    monkeypatch.setattr(EspeakEngine, "each_sentence", held)

    async def body(client: TestClient) -> tuple[int, list[int], bytes, Any]:
        response = await post(client, "/api/hear", {"name": MANDARIN, "turn": 0})
        received = b""
        while len(received) <= 44:  # the header, then the first audio
            received += await response.content.readany()
        spoken_then = list(spoken)
        listening.set()
        received += await response.read()
        stale = await (await post(client, "/api/stale", {"name": MANDARIN})).json()
        return response.status, spoken_then, received, stale

    status, spoken_then, received, stale = with_client(show, body)
    assert status == 200
    assert spoken_then == [0]  # audio arrived while the last sentence was unspoken
    assert spoken == [0, 1] and (len(received) - 44) / 2 / 44_100 > 1.0
    assert 0 not in stale["stale"]  # and the whole turn is in the cache for the build


def test_engine_keys_never_reach_the_pages(show: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-key")

    async def body(client: TestClient) -> str:
        pages = [await (await client.get(p)).text() for p in ("/", f"/edit/{MANDARIN}")]
        return "".join(pages)

    assert "sk-very-secret-key" not in with_client(show, body)


def test_a_new_episode_from_a_title(show: Path) -> None:
    async def body(client: TestClient) -> Any:
        return await (await post(client, "/api/new", {"title": "芯片出口新规"})).json()

    answer = with_client(show, body)
    assert (show / "scripts" / answer["name"]).is_file()
    assert answer["url"] == f"/edit/{answer['name']}"


def test_a_new_episode_from_an_article_in_the_writers_room(show: Path) -> None:
    from chat_server import ChatServer

    source = REPO / "tests" / "data" / "article-h200-damaged.txt"
    stand_in = ChatServer().start()
    try:
        toml = (show / "show.toml").read_text(encoding="utf-8")
        (show / "show.toml").write_text(re.sub(r'(?m)^base_url = "http://127\.0\.0\.1:8080/v1"',
                                               f'base_url = "{stand_in.url}"', toml),
                                        encoding="utf-8")

        async def body(client: TestClient) -> tuple[int, Any]:
            response = await post(client, "/api/draft", {
                "article": source.read_text(encoding="utf-8"), "minutes": 2})
            return response.status, await response.json()

        status, answer = with_client(show, body)
    finally:
        stand_in.stop()
    assert status == 200, answer
    script = show / "scripts" / answer["name"]
    assert "status: draft" in script.read_text(encoding="utf-8")
    assert stand_in.calls  # the show's [writer] model wrote it


def test_a_pronunciation_is_tried_then_kept_in_the_lexicon(show: Path) -> None:
    lexicon = show / "lexicon.toml"
    before = lexicon.read_text(encoding="utf-8")

    async def body(client: TestClient) -> tuple[int, bytes, Any, Any]:
        tried = await post(client, "/api/lexicon", {
            "name": MANDARIN, "turn": 1, "sentence": 0, "written": "英伟达",
            "spoken": "英伟大"})
        audio = await tried.read()
        saved = await (await post(client, "/api/lexicon", {
            "name": MANDARIN, "save": True, "written": "英伟达", "spoken": "英伟大",
            "language": "zh-CN"})).json()
        checked = await (await post(client, "/api/check", {
            "name": MANDARIN,
            "text": (show / "scripts" / MANDARIN).read_text(encoding="utf-8")})).json()
        return tried.status, audio, saved, checked

    status, audio, saved, checked = with_client(show, body)
    assert status == 200 and audio.startswith(b"RIFF")
    assert saved == {"saved": "lexicon.toml"}
    after = lexicon.read_text(encoding="utf-8")
    assert after.startswith(before.split("[zh-CN]")[0])  # every other line as it was
    assert '[zh-CN]                          # only in the Mandarin show\n"英伟达" = "英伟大"' \
        in after
    assert any(hit["written"] == "英伟达" and hit["spoken"] == "英伟大"
               for hit in checked["outline"]["lexicon"])


def test_status_buttons_edit_the_front_matter_and_unpublish_needs_an_episode(
        show: Path) -> None:
    path = show / "scripts" / MANDARIN

    async def body(client: TestClient) -> list[tuple[int, Any]]:
        answers = []
        for status in ({"status": "draft"}, {"status": "scheduled",
                                             "at": "2030-01-02T07:30:00+08:00"},
                       {"status": "published"}):
            response = await post(client, "/api/status", {"name": MANDARIN, **status})
            answers.append((response.status, path.read_text(encoding="utf-8")))
        response = await post(client, "/api/unpublish", {"slug": "no-such-episode"})
        answers.append((response.status, await response.json()))
        return answers

    (s1, draft), (s2, scheduled), (s3, published), (s4, refused) = with_client(show, body)
    assert (s1, s2, s3) == (200, 200, 200)
    assert "\nstatus: draft\n" in draft
    assert "publish_at: 2030-01-02T07:30:00+08:00" in scheduled and "status:" not in scheduled
    assert "status:" not in published and "publish_at" not in published
    assert s4 == 422 and "no-such-episode" in refused["error"]


def test_the_command_prints_a_token_beyond_loopback_and_takes_one_from_the_environment(
        show: Path) -> None:
    import os
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    env = {**os.environ, "DUOPOD_STUDIO_TOKEN": "from-the-environment"}
    command = subprocess.Popen(
        [sys.executable, "-m", "duopod", "studio", "--host", "0.0.0.0", "--port", "0"],
        cwd=show, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert command.stdout is not None
        line = command.stdout.readline()
        found = re.search(r"at http://0\.0\.0\.0:(\d+)/\?token=(\S+)", line)
        assert found, line + (command.stderr.read() if command.poll() is not None and
                              command.stderr else "")
        port, token = found.groups()
        assert token == "from-the-environment"
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as page:
            assert "芯片出口新规下的算力之争" in page.read().decode()
    finally:
        command.terminate()
        command.wait(10)


def test_a_pronunciation_kept_in_the_script_goes_into_its_front_matter(show: Path) -> None:
    path = show / "scripts" / MANDARIN
    opened = digest(path.read_bytes())

    async def body(client: TestClient) -> tuple[int, Any, int, Any]:
        saved = await post(client, "/api/lexicon", {
            "name": MANDARIN, "save": "script", "sha256": opened, "written": "英伟达",
            "spoken": "英伟大"})
        stale = await post(client, "/api/lexicon", {
            "name": MANDARIN, "save": "script", "sha256": opened, "written": "H200",
            "spoken": "H两百"})
        return saved.status, await saved.json(), stale.status, await stale.json()

    status, saved, stale_status, stale = with_client(show, body)
    assert status == 200, saved
    text = path.read_text(encoding="utf-8")
    assert 'lexicon:\n  "英伟达": "英伟大"\n---' in text
    assert saved["sha256"] == digest(path.read_bytes())
    assert stale_status == 409 and "changed on disk" in stale["error"]
    from duopod.script.parse import parse_script
    from duopod.speech.lexicon import script_entries

    entries = script_entries(parse_script(path, workspace=show))
    assert [(e.written, e.spoken) for e in entries] == [("英伟达", "英伟大")]


def test_a_backchannel_is_heard_under_the_host_as_the_build_mixes_it(show: Path) -> None:
    """The outline marks the example's backchannels and cut-in; "play the exchange" mixes
    the turns around one as a build does: the murmur overlaps the host, so the exchange is
    shorter than its three turns said one after another."""
    import numpy as np

    async def body(client: TestClient) -> tuple[Any, list[tuple[int, bytes]]]:
        text = (show / "scripts" / MANDARIN).read_text(encoding="utf-8")
        checked = await (await post(client, "/api/check", {"name": MANDARIN, "text": text})
                         ).json()
        heard = []
        turn = next(t for t in checked["outline"]["turns"] if t["meets"] == "backchannel")
        for extra in ({"exchange": True}, {}, {}, {}):
            index = turn["index"] if extra or not heard else turn["index"] - 2 + len(heard)
            response = await post(client, "/api/hear", {"name": MANDARIN, "turn": index,
                                                        **extra})
            heard.append((response.status, await response.read()))
        return checked, heard

    checked, heard = with_client(show, body)
    meets = [t["meets"] for t in checked["outline"]["turns"]]
    assert meets.count("backchannel") == 2 and meets.count("interruption") == 1
    assert all(status == 200 for status, _wav in heard)

    def samples(wav: bytes) -> np.ndarray:
        with wave.open(io.BytesIO(wav)) as audio:
            rate = audio.getframerate()
            return np.frombuffer(audio.readframes(audio.getnframes()), dtype=np.int16
                                 ).astype(np.float64) / 32767, rate

    (exchange, rate), *alone = (samples(wav) for _status, wav in heard)
    assert 0.8 < np.abs(exchange).max() < 0.95  # normalised to -1 dBFS

    def placed(part: np.ndarray) -> float:
        """Where ``part`` (a turn heard alone) sounds in the exchange, in seconds."""
        from scipy.signal import correlate

        return int(np.argmax(correlate(exchange, part, mode="valid", method="fft"))) / rate

    host, murmur, goes_on = ((part, len(part) / rate) for part, rate in alone)
    assert placed(murmur[0]) < host[1] < placed(goes_on[0])  # under the host's last words
    assert placed(goes_on[0]) < placed(murmur[0]) + murmur[1] + 0.3


def test_a_txt_script_is_listed_opened_and_saved(show: Path) -> None:
    scripts = show / "scripts"
    text = (scripts / MANDARIN).read_text(encoding="utf-8").replace(
        "title: 芯片出口新规下的算力之争", "title: 纯文本脚本")
    (scripts / "2025-12-11-plain.txt").write_text(text, encoding="utf-8")

    async def body(client: TestClient) -> tuple[str, int, Any, int]:
        page = await (await client.get("/")).text()
        opened = await client.get("/edit/2025-12-11-plain.txt")
        read = await (await client.get("/api/script",
                                       params={"name": "2025-12-11-plain.txt"})).json()
        saved = await post(client, "/api/save", {
            "name": "2025-12-11-plain.txt", "text": read["text"].replace("早上好", "中午好"),
            "sha256": read["sha256"]})
        return page, opened.status, read, saved.status

    page, opened, _read, saved = with_client(show, body)
    assert 'href="/edit/2025-12-11-plain.txt"' in page and "纯文本脚本" in page
    # the articles import and draft keep beside the scripts are not scripts
    assert "sources/2025-12-10-h200.txt" not in page
    assert opened == 200 and saved == 200
    assert "中午好" in (scripts / "2025-12-11-plain.txt").read_text(encoding="utf-8")


def test_a_link_out_of_the_show_is_listed_as_refused_never_read(show: Path,
                                                                tmp_path: Path) -> None:
    outside = tmp_path / "secret.md"
    outside.write_text("---\ntitle: 秘密\n---\n", encoding="utf-8")
    (show / "scripts" / "leak.md").symlink_to(outside)

    async def body(client: TestClient) -> tuple[int, str, int, int]:
        page = await client.get("/")
        edit = await client.get("/edit/leak.md")
        read = await client.get("/api/script", params={"name": "leak.md"})
        return page.status, await page.text(), edit.status, read.status

    status, page, edit, read = with_client(show, body)
    assert status == 200
    assert "leak.md" in page and "outside scripts/" in page and "秘密" not in page
    assert 'href="/edit/leak.md"' not in page
    assert (edit, read) == (404, 422)


BAD_VALUES: list[Any] = [None, 7, -1, 10**30, 1.5, True, "", "x" * 5000, [], {}, "../x.md",
                         "\x00", "2030-13-45T99:99"]
ENDPOINTS = {
    "/api/check": {"name": MANDARIN, "text": "x"},
    "/api/save": {"name": MANDARIN, "text": "x", "sha256": "0"},
    "/api/new": {"title": "t"},
    "/api/hear": {"name": MANDARIN, "turn": 0},
    "/api/stale": {"name": MANDARIN},
    "/api/status": {"name": MANDARIN, "status": "scheduled", "at": "2030-01-02T07:30:00"},
    "/api/unpublish": {"slug": "x"},
    "/api/lexicon": {"name": MANDARIN, "written": "a", "spoken": "b", "turn": 0},
}


@pytest.mark.parametrize("url", sorted(ENDPOINTS))
def test_every_bad_field_is_a_4xx_with_a_one_line_reason(show: Path, url: str) -> None:
    """Each field of each endpoint's body replaced by each hostile value: never a 500."""
    before = {p: p.read_bytes() for p in (show / "scripts").rglob("*") if p.is_file()}

    async def body(client: TestClient) -> list[tuple[str, Any, int, str]]:
        token = await csrf(client)
        answers = []
        for field in ENDPOINTS[url]:
            for value in BAD_VALUES:
                sent = {**ENDPOINTS[url], field: value}
                response = await client.post(url, json=sent, headers={"X-Duopod-CSRF": token})
                answers.append((field, value, response.status,
                                (await response.read()).decode(errors="replace")))
        for raw in (b"", b"[1]", b"{", b"\"x\"", b"\xff\xfe"):
            response = await client.post(url, data=raw, headers={
                "X-Duopod-CSRF": token, "Content-Type": "application/json"})
            answers.append(("(body)", raw, response.status,
                            (await response.read()).decode(errors="replace")))
        return answers

    for field, value, status, text in with_client(show, body):
        shown = repr(value)[:40]
        assert status < 500, (url, field, shown, status, text[:300])
        if status >= 400:
            reason = text.strip()
            assert reason and "\n" not in reason and "Traceback" not in reason, (
                url, field, shown, reason[:300])
    # the bodies that passed wrote nothing but what they named (no script lost)
    for path, data in before.items():
        if path.name != MANDARIN:
            assert path.read_bytes() == data, path


def test_the_episode_view_has_its_turns_levels_chapters_and_verify_flags(
        show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from duopod.build.options import BuildOptions
    from duopod.build.scripts import build_scripts
    from duopod.show.workspace import load_workspace
    from duopod.studio import timeline

    workspace = load_workspace(show)
    run = build_scripts(workspace, [show / "scripts" / MANDARIN], BuildOptions(engine="espeak"),
                        jobs=1)
    assert run.exit_code == 0, run.outcomes
    slug = run.outcomes[0].slug
    record = json.loads((show / "episodes" / slug / "episode.json").read_text("utf-8"))
    flagged = record["timeline"]["turns"][2]["sentences"][0]
    report = {"slug": slug, "sentences": [
        {"turn": 3, "said": flagged["text"], "heard": "听错了", "cer": 0.6, "misheard": ["AI"],
         "flagged": True},
        {"turn": 1, "said": "不在这一集里的一句话。", "heard": "", "cer": 1.0, "misheard": [],
         "flagged": True}]}
    (show / ".duopod" / "verify").mkdir(parents=True, exist_ok=True)
    (show / ".duopod" / "verify" / f"{slug}.json").write_text(json.dumps(report), "utf-8")

    async def body(client: TestClient) -> tuple[Any, Any, Any]:
        first = await (await client.get("/api/episode", params={"name": MANDARIN})).json()

        def measured_again(_audio: Path) -> Any:
            raise AssertionError("the levels were measured again, not read from the cache")

        monkeypatch.setattr(timeline, "measure_levels", measured_again)
        again = await (await client.get("/api/episode", params={"name": MANDARIN})).json()
        other = await (await client.get("/api/episode", params={
            "name": "2025-12-12-open-weights.md"})).json()
        return first, again, other

    first, again, other = with_client(show, body)
    episode = first["episode"]
    assert other == {"episode": None}  # never built
    assert episode["audio"] == f"/site/{slug}/{record['audio']['file']}"
    assert [t["number"] for t in episode["turns"]] == list(range(1, len(episode["turns"]) + 1))
    assert [t["host"] for t in episode["turns"][:4]] == [0, 1, 0, 1]
    assert [c["title"] for c in episode["chapters"]] == [
        c["title"] for c in record["timeline"]["chapters"]]
    # the levels: 20 a second over the whole MP3, loud where a turn speaks
    levels = episode["levels"]
    assert levels["per_second"] == 20
    assert abs(len(levels["peaks"]) / 20 - record["duration"]) < 0.5
    turn = episode["turns"][3]
    spoken = levels["peaks"][int(turn["start"] * 20) + 2:int(turn["end"] * 20) - 2]
    assert max(spoken) > 100 and min(levels["peaks"]) >= 0 and max(levels["peaks"]) <= 1000
    # verify's flags on their sentences (a sentence of another version of the episode: none)
    marked = [(t["number"], s["text"]) for t in episode["turns"] for s in t["sentences"]
              if s["flag"]]
    assert marked == [(3, flagged["text"])]
    assert episode["turns"][2]["sentences"][0]["flag"]["misheard"] == ["AI"]
    # computed once, then read from .duopod/studio/levels/ (kept with the MP3's identity)
    cache = show / ".duopod" / "studio" / "levels" / f"{slug}.json"
    assert json.loads(cache.read_text("utf-8"))["peaks"] == levels["peaks"]
    assert again["episode"]["levels"] == levels


def test_a_sentence_that_fails_mid_turn_breaks_the_stream_and_caches_nothing(
        show: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import ClientPayloadError

    from duopod.errors import EngineError
    from duopod.speech.engines.espeak import EspeakEngine

    original = EspeakEngine.each_sentence

    def fails_second(self: EspeakEngine, sentences: Any, settings: Any) -> Any:
        pieces = original(self, sentences, settings)
        yield next(pieces)
        pieces.close()
        raise EngineError("the engine fell over on the second sentence")

    monkeypatch.setattr(EspeakEngine, "each_sentence", fails_second)

    async def body(client: TestClient) -> tuple[int, str, Any]:
        response = await post(client, "/api/hear", {"name": MANDARIN, "turn": 0})
        try:
            await response.read()
            ended = "whole"
        except ClientPayloadError:
            ended = "broken off"
        stale = await (await post(client, "/api/stale", {"name": MANDARIN})).json()
        return response.status, ended, stale

    status, ended, stale = with_client(show, body)
    assert (status, ended) == (200, "broken off")  # never a clean end that hides it
    assert 0 in stale["stale"]  # half a turn is not kept as the turn


def test_a_guest_has_a_colour_of_its_own_in_the_outline(show: Path) -> None:
    from test_guests import SCRIPT, with_guest

    with_guest(show)
    (show / "scripts" / "guest.md").write_text(SCRIPT, "utf-8")

    async def body(client: TestClient) -> Any:
        return await (await post(client, "/api/check", {"name": "guest.md",
                                                         "text": SCRIPT})).json()

    outline = with_client(show, body)["outline"]
    assert outline["hosts"] == [
        {"name": "雷总", "characters": outline["hosts"][0]["characters"], "guest": False},
        {"name": "董小姐", "characters": outline["hosts"][1]["characters"], "guest": False},
        {"name": "李教授", "characters": outline["hosts"][2]["characters"], "guest": True}]
