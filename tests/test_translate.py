"""duopod translate against the stand-in chat server (the real client, real sockets): the
held-out example's English version keeps the hosts, sections, turns, stage directions and
every number; bad input is one line; and, built, the two versions' feeds link each other
(issue 26, item 2)."""

from __future__ import annotations

import json
import re
import shutil
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
    assert report["translation_of"] == original.meta.slug and report["turns"] == 35
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
    assert done.stdout.startswith("translated ") and "35 turns in 4 sections" in done.stdout
    assert "writer:" in done.stdout
    checked = run_cli(show, "check", "scripts/2025-12-10-h200.en-US.md", "--engine", "espeak")
    assert checked.returncode == 0, checked.stderr
    assert "espeak en-us [espeak.\"en-US\"]" in checked.stdout  # the hosts' English voices


# ---------------------------------------------------------------- built: the two feeds


class StaticSite:
    """The built site on a loopback port, as a plain web server would serve it."""

    def __init__(self, folder: Path) -> None:
        from loopback import LoopbackApp

        class App(LoopbackApp):
            def routes(self, app) -> None:  # type: ignore[no-untyped-def]

                app.router.add_static("/", folder)

        folder.mkdir(parents=True, exist_ok=True)
        self.app = App().start()
        self.url = f"http://127.0.0.1:{self.app.port}"


PC = "https://podcastindex.org/namespace/1.0"
ATOM = "http://www.w3.org/2005/Atom"


def _items(feed: Path) -> dict[str, object]:
    import xml.etree.ElementTree as ET

    channel = ET.parse(feed).getroot().find("channel")
    assert channel is not None
    return {"channel": channel, **{item.findtext("link", "").rstrip("/").rsplit("/", 1)[-1]:
                                   item for item in channel.findall("item")}}


@pytest.fixture(scope="module")
def versions_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The held-out example and its English version (stand-in translation), built with
    espeak and the AAC rendition on, served from loopback."""
    from conftest import copy_show

    show = copy_show(tmp_path_factory.mktemp("versions") / "show")
    site = StaticSite(show / "episodes")
    toml = show / "show.toml"
    text = toml.read_text("utf-8").replace('base_url = "https://podcast.example.com"',
                                           f'base_url = "{site.url}"')
    toml.write_text(text + '\n[feed]\nrenditions = ["aac-48k"]\n\n[feed."en-US"]\n'
                    'title = "Chip Talk"\n', "utf-8")
    stand_in = ChatServer().start()
    try:
        result = translate(show, stand_in)
    finally:
        stand_in.stop()
    version = result.script
    version.write_text(version.read_text("utf-8").replace("status: draft", "status: published"),
                       "utf-8")
    built = run_cli(show, "build", f"scripts/{MANDARIN}", f"scripts/{version.name}",
                    "--engine", "espeak")
    assert built.returncode == 0, built.stderr + built.stdout
    yield show, site.url
    site.app.stop()


@pytest.mark.slow
def test_both_feeds_link_each_other(versions_site: tuple[Path, str]) -> None:
    show, url = versions_site
    episodes = show / "episodes"
    original = parse_script(show / "scripts" / MANDARIN, workspace=show).meta.slug
    english = f"{original}-en-us"
    main, other = _items(episodes / "feed.xml"), _items(episodes / "feed-en-US.xml")
    # one language per feed: the version is only in its own
    assert set(main) == {"channel", original} and set(other) == {"channel", english}
    for feed, lang, theirs_lang, mine, theirs, theirs_file in (
            (main, "zh-CN", "en-US", original, english, "feed-en-US.xml"),
            (other, "en-US", "zh-CN", english, original, "feed.xml")):
        channel = feed["channel"]
        assert channel.findtext("language") == lang  # type: ignore[union-attr]
        links = {(a.get("rel"), a.get("hreflang")): a.get("href")
                 for a in channel.findall(f"{{{ATOM}}}link")}  # type: ignore[union-attr]
        assert links[("alternate", theirs_lang)] == f"{url}/{theirs_file}"
        item = feed[mine]
        alternates = item.findall(f"{{{PC}}}alternateEnclosure")  # type: ignore[union-attr]
        by_lang = {(a.get("lang"), a.get("type")): a for a in alternates}
        version = by_lang[(theirs_lang, "audio/mpeg")]
        (source,) = version.findall(f"{{{PC}}}source")
        assert source.get("uri") == f"{url}/{theirs}/{theirs}.mp3"
        assert version.get("rel") == theirs_lang
        assert int(version.get("length", "0")) == (episodes / theirs / f"{theirs}.mp3"
                                                   ).stat().st_size
        transcripts = {(t.get("language"), t.get("type")): t.get("url")
                       for t in item.findall(f"{{{PC}}}transcript")}  # type: ignore[union-attr]
        assert transcripts[(theirs_lang, "text/vtt")] == f"{url}/{theirs}/transcript.vtt"
        assert transcripts[(lang, "text/vtt")] == f"{url}/{mine}/transcript.vtt"
    assert main["channel"].findtext(f"{{{PC}}}guid") != \
        other["channel"].findtext(f"{{{PC}}}guid")  # type: ignore[union-attr]
    assert other["channel"].findtext("title") == "Chip Talk"  # type: ignore[union-attr]
    record = json.loads((episodes / english / "episode.json").read_text("utf-8"))
    assert record["translation_of"] == original and record["language"] == "en-US"
    # the version took no number of the show's; its feed shows the original's
    assert record["episode"] == 0
    itunes = "{http://www.itunes.com/dtds/podcast-1.0.dtd}episode"
    assert main[original].findtext(itunes) == other[english].findtext(itunes) == "1"  # type: ignore[union-attr]
    assert record["hosts"] == ["雷总", "董小姐"]


@pytest.mark.slow
def test_the_pages_link_the_versions(versions_site: tuple[Path, str]) -> None:
    show, _url = versions_site
    episodes = show / "episodes"
    original = parse_script(show / "scripts" / MANDARIN, workspace=show).meta.slug
    english = f"{original}-en-us"
    chinese_page = (episodes / original / "index.html").read_text("utf-8")
    english_page = (episodes / english / "index.html").read_text("utf-8")
    assert f'href="../{english}/index.html" hreflang="en-US"' in chinese_page
    assert "其他语言版本" in chinese_page
    assert f'href="../{original}/index.html" hreflang="zh-CN"' in english_page
    assert "In other languages" in english_page
    assert 'href="../feed-en-US.xml"' in english_page and 'href="../feed.xml"' in chinese_page


@pytest.mark.slow
def test_the_aac_rendition_is_real_and_listed(versions_site: tuple[Path, str]) -> None:
    import subprocess

    import imageio_ffmpeg

    show, url = versions_site
    episodes = show / "episodes"
    original = parse_script(show / "scripts" / MANDARIN, workspace=show).meta.slug
    mp3, m4a = episodes / original / f"{original}.mp3", episodes / original / f"{original}.m4a"
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(m4a)],
                           capture_output=True, text=True, check=False).stderr
    assert "Audio: aac (LC)" in probe and "mono" in probe, probe
    record = json.loads((episodes / original / "episode.json").read_text("utf-8"))
    duration = record["duration"]
    found = re.search(r"Duration: (\d+):(\d+):([\d.]+)", probe)
    assert found
    seconds = int(found.group(1)) * 3600 + int(found.group(2)) * 60 + float(found.group(3))
    assert abs(seconds - duration) < 0.2, (seconds, duration)
    assert m4a.stat().st_size < 0.5 * mp3.stat().st_size  # 48 of 128 kbit/s, plus headers
    item = _items(episodes / "feed.xml")[original]
    alternates = item.findall(f"{{{PC}}}alternateEnclosure")  # type: ignore[union-attr]
    default = [a for a in alternates if a.get("default") == "true"]
    assert len(default) == 1 and default[0].get("type") == "audio/mpeg"
    assert default[0].find(f"{{{PC}}}source").get("uri") == \
        item.find("enclosure").get("url")  # type: ignore[union-attr]
    (aac,) = [a for a in alternates if a.get("type") == "audio/mp4" and a.get("rel") is None]
    assert aac.get("bitrate") == "48000" and aac.get("codecs") == "mp4a.40.2"
    assert aac.get("lang") == "zh-CN" and int(aac.get("length", "0")) == m4a.stat().st_size
    assert len(aac.get("title", "")) <= 32
    assert aac.find(f"{{{PC}}}source").get("uri") == f"{url}/{original}/{original}.m4a"
    for alternate in alternates:  # the namespace: type required; one source or more
        assert alternate.get("type") and alternate.findall(f"{{{PC}}}source")
        assert set(alternate.keys()) <= {"type", "length", "bitrate", "height", "lang", "title",
                                         "rel", "codecs", "default"}


@pytest.mark.slow
def test_the_cover_sizes_are_real_pictures(versions_site: tuple[Path, str]) -> None:
    from duopod.show.apple import image_size

    show, url = versions_site
    channel = _items(show / "episodes" / "feed.xml")["channel"]
    images = channel.findall(f"{{{PC}}}image")  # type: ignore[union-attr]
    assert [i.get("width") for i in images] == ["1400", "600", "300"]
    for image in images:
        name = image.get("href", "").removeprefix(f"{url}/")
        kind, width, height = image_size((show / "episodes" / name).read_bytes()) or ("", 0, 0)
        assert (kind, str(width), str(height)) == ("png", image.get("width"),
                                                   image.get("height"))
        assert image.get("aspect-ratio") == "1/1" and image.get("purpose") == "artwork"
    srcset = channel.find(f"{{{PC}}}images").get("srcset")  # type: ignore[union-attr]
    assert srcset == ", ".join(f"{i.get('href')} {i.get('width')}w" for i in images)


@pytest.mark.slow
def test_feedparser_and_podcastparser_read_both_feeds(versions_site: tuple[Path, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import feedparser
    import podcastparser

    show, url = versions_site
    monkeypatch.setitem(podcastparser.Namespace.NAMESPACES, PC, "podcast")
    for name, language in (("feed.xml", "zh-cn"), ("feed-en-US.xml", "en-us")):
        body = (show / "episodes" / name).read_bytes()
        parsed = feedparser.parse(body)
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.feed.language.lower() == language and len(parsed.entries) == 1
        (enclosure,) = parsed.entries[0].enclosures
        assert enclosure.href.startswith(url) and enclosure.type == "audio/mpeg"
        podcast = podcastparser.parse(f"{url}/{name}", io.BytesIO(body))
        (episode,) = podcast["episodes"]
        (only,) = episode["enclosures"]  # the alternates are not taken for enclosures
        assert only["url"] == enclosure.href and only["mime_type"] == "audio/mpeg"


@pytest.mark.slow
@pytest.mark.skipif(__import__("shutil").which("gpo") is None,
                    reason="Debian's gpodder (gpo) is not installed")
def test_gpodder_subscribes_to_both_feeds(versions_site: tuple[Path, str],
                                          tmp_path: Path) -> None:
    import os
    import subprocess

    show, url = versions_site
    env = {**os.environ, "GPODDER_HOME": str(tmp_path / "home"),
           "GPODDER_DOWNLOAD_DIR": str(tmp_path / "downloads")}

    def gpo(*args: str) -> str:
        done = subprocess.run(["gpo", *args], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    gpo("subscribe", f"{url}/feed.xml")
    gpo("subscribe", f"{url}/feed-en-US.xml")
    gpo("update")
    listing = gpo("episodes", "--guid")
    for folder in (p for p in (show / "episodes").iterdir() if (p / "episode.json").is_file()):
        assert json.loads((folder / "episode.json").read_text("utf-8"))["guid"] in listing
    gpo("download")
    downloads = sorted(p.name for p in (tmp_path / "downloads").rglob("*.mp3"))
    assert len(downloads) == 2, downloads


@pytest.mark.slow
def test_the_preview_serves_each_language_feed_at_its_own_address(
        versions_site: tuple[Path, str]) -> None:
    """``duopod serve`` rewrote only feed.xml to the preview's address: a producer previewing
    the English feed subscribed to the production URLs."""
    import urllib.request

    import feedparser

    from duopod.serve import in_background
    from duopod.show.workspace import load_workspace

    show, production = versions_site
    with in_background(load_workspace(show)) as preview:
        local = f"http://127.0.0.1:{preview.port}"
        with urllib.request.urlopen(f"{local}/feed-en-US.xml", timeout=30) as answer:
            body = answer.read().decode("utf-8")
    parsed = feedparser.parse(body)
    assert parsed.feed.language == "en-US" and len(parsed.entries) == 1
    assert parsed.entries[0].enclosures[0].href.startswith(local + "/")
    assert production not in body


def test_hosts_without_a_voice_in_the_language_get_one_cast(tmp_path: Path,
                                                            chat: ChatServer) -> None:
    """A show duopod init made in Chinese has no English voices: translate casts each host
    one of their gender and tone, distinct, into their profile (and nothing else of it
    changes); the version keeps the example's cut-off and its backchannels."""
    made = run_cli(tmp_path, "init", "show", "--title", "芯闻", "--language", "zh-CN",
                   "--hosts", "雷总:m,董小姐:f")
    assert made.returncode == 0, made.stderr
    show = tmp_path / "show"
    example = Path(__file__).parent.parent / "scripts"
    shutil.copytree(example / "sources", show / "scripts" / "sources")
    shutil.copy(example / MANDARIN, show / "scripts" / MANDARIN)
    before = {p.name: p.read_text("utf-8") for p in (show / "voices").glob("*.toml")}
    result = translate(show, chat)
    after = {p.name: p.read_text("utf-8") for p in (show / "voices").glob("*.toml")}
    for name, text in after.items():
        assert text.startswith(before[name])  # only added to
    profiles = load_workspace(show).profiles
    english = {host: profiles[host].for_language("en-US").settings("kokoro")["voice"]
               for host in ("雷总", "董小姐")}
    assert english["雷总"].startswith("am_") and english["董小姐"].startswith("af_")
    assert len(result.voices) == 2 and all("kokoro" in line for line in result.voices)
    checked = run_cli(show, "check", str(result.script.relative_to(show)), "--engine",
                      "espeak")
    assert checked.returncode == 0, checked.stderr
    assert "espeak en-us [espeak.\"en-US\"]" in checked.stdout
    assert "2 backchannels" in checked.stdout and "1 interruption" in checked.stdout
    version = parse_script(result.script, workspace=show)
    assert sum(1 for t in version.turns if t.text.endswith("—")) == 1
