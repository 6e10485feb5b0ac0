"""podcast:alternateEnclosure, the feeds per language and show.toml's ``[feed]`` on records
alone (no audio): the namespace's rules, and what the real parsers make of them (issue 26,
items 2 and 3). The built versions are in test_translate.py."""

from __future__ import annotations

import datetime as dt
import io
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import feedparser
import podcastparser
import pytest

from duopod.errors import InputError
from duopod.show.workspace import load_show
from duopod.site.feed import NAMESPACES, build_feed
from duopod.store.record import AudioFile, EpisodeRecord, Rendition

PC, ATOM = NAMESPACES["podcast"], NAMESPACES["atom"]
BASE = "https://podcast.example.com"
AAC = Rendition("a.m4a", 400, "audio/mp4", "mp4a.40.2", 48000, "Low bandwidth (AAC 48k)")


def _episode(slug: str, language: str, translation_of: str | None = None, number: int = 1,
             renditions: tuple[Rendition, ...] = ()) -> EpisodeRecord:
    when = dt.datetime(2025, 12, 10, 6, tzinfo=dt.UTC)
    return EpisodeRecord(
        guid=str(uuid.uuid4()), slug=slug, script=f"scripts/{slug}.md", title=slug,
        date=when.date(), published=when, number=number, hosts=("雷总", "董小姐"),
        language=language, duration=100.0, audio=AudioFile(f"{slug}.mp3", 1_600_000),
        engine="espeak", description="d", translation_of=translation_of,
        renditions=renditions)


ORIGINAL = _episode("h200", "zh-CN", number=4, renditions=(replace(AAC, file="h200.m4a"),))
ENGLISH = _episode("h200-en-us", "en-US", "h200", number=5)
OTHER = _episode("open-weights", "en-US", number=3)  # an English original, in feed.xml
EPISODES = [ENGLISH, ORIGINAL, OTHER]


@pytest.fixture
def config(show: Path):  # type: ignore[no-untyped-def]
    return load_show(show / "show.toml", show)


def _channel(feed: bytes) -> ET.Element:
    channel = ET.fromstring(feed).find("channel")
    assert channel is not None
    return channel


def _item(channel: ET.Element, slug: str) -> ET.Element:
    return next(i for i in channel.findall("item") if i.findtext("link") == f"{BASE}/{slug}/")


def test_each_feed_has_one_language_and_links_the_other(config) -> None:  # type: ignore[no-untyped-def]
    main = _channel(build_feed(config, EPISODES, guid=str(uuid.uuid4())))
    english = _channel(build_feed(config, EPISODES, language="en-US"))
    assert [i.findtext("link") for i in main.findall("item")] == [
        f"{BASE}/h200/", f"{BASE}/open-weights/"]  # the version is not in feed.xml
    assert [i.findtext("link") for i in english.findall("item")] == [
        f"{BASE}/h200-en-us/", f"{BASE}/open-weights/"]  # every English episode
    assert english.findtext("language") == "en-US"
    self_link = english.find(f"{{{ATOM}}}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == f"{BASE}/feed-en-US.xml"
    alternate = main.find(f"{{{ATOM}}}link[@rel='alternate']")
    assert alternate is not None and alternate.get("hreflang") == "en-US"
    assert alternate.get("href") == f"{BASE}/feed-en-US.xml"
    back = english.find(f"{{{ATOM}}}link[@rel='alternate']")
    assert back is not None and back.get("href") == f"{BASE}/feed.xml"
    uuid.UUID(english.findtext(f"{{{PC}}}guid", ""))
    assert english.findtext(f"{{{PC}}}guid") != main.findtext(f"{{{PC}}}guid")
    # the version carries its original's number in its language's feed
    assert _item(english, "h200-en-us").findtext(
        "{http://www.itunes.com/dtds/podcast-1.0.dtd}episode") == "4"


def test_alternate_enclosures_follow_the_namespace(config) -> None:  # type: ignore[no-untyped-def]
    item = _item(_channel(build_feed(config, EPISODES)), "h200")
    alternates = item.findall(f"{{{PC}}}alternateEnclosure")
    assert [(a.get("type"), a.get("lang"), a.get("rel"), a.get("default"))
            for a in alternates] == [("audio/mpeg", "zh-CN", None, "true"),
                                     ("audio/mp4", "zh-CN", None, None),
                                     ("audio/mpeg", "en-US", "en-US", None)]
    enclosure = item.find("enclosure")
    assert enclosure is not None
    for alternate in alternates:
        sources = alternate.findall(f"{{{PC}}}source")
        assert sources and all(s.get("uri", "").startswith(f"{BASE}/") for s in sources)
        assert set(alternate.keys()) <= {"type", "length", "bitrate", "height", "lang",
                                         "title", "rel", "codecs", "default"}
        assert len(alternate.get("title", "")) <= 32 and len(alternate.get("rel") or "") <= 32
        assert int(alternate.get("length", "")) > 0 and int(alternate.get("bitrate", "")) > 0
    assert alternates[0].find(f"{{{PC}}}source").get("uri") == enclosure.get("url")  # type: ignore[union-attr]
    assert alternates[1].get("bitrate") == "48000" and alternates[1].get("length") == "400"
    assert alternates[2].find(f"{{{PC}}}source").get("uri") == \
        f"{BASE}/h200-en-us/h200-en-us.mp3"  # type: ignore[union-attr]
    transcripts = {(t.get("language"), t.get("url")) for t in
                   item.findall(f"{{{PC}}}transcript") if t.get("type") == "text/vtt"}
    assert transcripts == {("zh-CN", f"{BASE}/h200/transcript.vtt"),
                           ("en-US", f"{BASE}/h200-en-us/transcript.vtt")}
    # an item without alternatives has none
    plain = _item(_channel(build_feed(config, EPISODES)), "open-weights")
    assert plain.find(f"{{{PC}}}alternateEnclosure") is None


def test_the_parsers_take_only_the_enclosure(config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(podcastparser.Namespace.NAMESPACES, PC, "podcast")
    for language in (None, "en-US"):
        body = build_feed(config, EPISODES, language=language)
        parsed = feedparser.parse(body)
        assert not parsed.bozo and len(parsed.entries) == 2
        assert all(len(e.enclosures) == 1 for e in parsed.entries)
        podcast = podcastparser.parse(f"{BASE}/feed.xml", io.BytesIO(body))
        for episode in podcast["episodes"]:
            (enclosure,) = episode["enclosures"]
            assert enclosure["url"].endswith(".mp3") and enclosure["file_size"] == 1_600_000


def test_without_versions_or_renditions_the_feed_is_unchanged(config) -> None:  # type: ignore[no-untyped-def]
    alone = [replace(ORIGINAL, renditions=()), OTHER]
    channel = _channel(build_feed(config, alone))
    assert channel.find(f"{{{ATOM}}}link[@rel='alternate']") is None
    assert not channel.findall(f".//{{{PC}}}alternateEnclosure")
    assert len(channel.findall("item")) == 2


def test_show_toml_reads_the_feed_table(show: Path) -> None:
    toml = show / "show.toml"
    plain = toml.read_text("utf-8")
    toml.write_text(plain + '\n[feed]\nrenditions = ["aac-48k", "opus-24k"]\n\n'
                    '[feed."en-US"]\ntitle = "Chip Talk"\n', "utf-8")
    feed = load_show(toml, show).feed
    assert [(r.codec, r.bitrate_kbps, r.extension, r.mime) for r in feed.renditions] == [
        ("aac", 48, ".m4a", "audio/mp4"), ("opus", 24, ".opus", "audio/ogg")]
    assert feed.language_feed("en-us").title == "Chip Talk"
    assert load_show(show / "show.toml", show).feed.language_feed("fr-FR").title is None
    for bad, message in (('renditions = ["mp3-48k"]', "is not a rendition"),
                         ('renditions = ["aac-8k"]', "is not a rendition"),
                         ('renditions = "aac-48k"', "must be a list"),
                         ('renditions = ["aac-48k", "aac-64k"]', "one rendition per codec"),
                         ("speed = 2", "unknown field 'feed.speed'")):
        toml.write_text(plain + f"\n[feed]\n{bad}\n", "utf-8")
        with pytest.raises(InputError, match=message) as caught:
            load_show(toml, show)
        assert len(str(caught.value).splitlines()) == 1


def test_deploy_polls_language_feeds_like_the_main_one() -> None:
    from duopod.deploy import SHORT, WEEK, _order, cache_control, content_type

    assert cache_control("feed-en-US.xml") == cache_control("feed.xml") == SHORT
    assert cache_control("h200/h200.opus") == WEEK
    assert content_type("h200/h200.opus") == "audio/ogg"
    assert content_type("h200/h200.m4a") == "audio/mp4"
    assert _order("h200/h200.m4a") < _order("h200/index.html") < _order("feed-en-US.xml")
