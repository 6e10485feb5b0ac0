"""Podcasting 2.0 channel tags apps read (issue 26.3): podcast:txt, podcast:podroll,
podcast:trailer and the analytics prefix on enclosures, checked by the real parsers and by
the namespace's rules (podcastindex-org/podcast-namespace, docs/1.0.md)."""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import feedparser
import podcastparser
import pytest

from duopod.errors import InputError
from duopod.show.workspace import RemoteFeed, ShowText, load_show
from duopod.site.feed import NAMESPACES, build_feed, enclosure_url
from duopod.store.record import AudioFile, EpisodeRecord

PC = NAMESPACES["podcast"]
OTHER_GUID = "917393e3-1b1e-5cef-ace4-edaa54e1f810"


def _episode(slug: str, number: int, day: int, episode_type: str = "full",
             season: int | None = None) -> EpisodeRecord:
    when = dt.datetime(2025, 12, day, 6, tzinfo=dt.UTC)
    return EpisodeRecord(
        guid=str(uuid.uuid4()), slug=slug, script=f"scripts/{slug}.md", title=f"Title {slug}",
        date=when.date(), published=when, number=number, hosts=("Alex", "Sam"),
        language="en-US", duration=61.0, audio=AudioFile(file=f"{slug}.mp3", bytes=12345),
        engine="espeak", description="About it.", episode_type=episode_type, season=season)


@pytest.fixture
def config(show: Path):  # type: ignore[no-untyped-def]
    base = load_show(show / "show.toml", show)
    return replace(
        base,
        txt=(ShowText("S6lpp-7ZCn8-dZfGc-OoyVG", purpose="verify"), ShowText("plain <&> note")),
        podroll=(RemoteFeed(OTHER_GUID, "https://other.example.org/feed.xml"),
                 RemoteFeed(str(uuid.uuid5(uuid.NAMESPACE_URL, "x")))),
        analytics_prefix="https://op3.dev/e/")


EPISODES = [_episode("2025-12-12-news", 3, 12),
            _episode("2025-12-11-trailer", 2, 11, "trailer", season=1),
            _episode("2025-12-10-first", 1, 10)]


def _channel(feed: bytes) -> ET.Element:
    channel = ET.fromstring(feed).find("channel")
    assert channel is not None
    return channel


def test_tags_follow_the_namespace_rules(config) -> None:  # type: ignore[no-untyped-def]
    channel = _channel(build_feed(config, EPISODES))
    txts = channel.findall(f"{{{PC}}}txt")
    assert [(t.text, t.get("purpose")) for t in txts] == [
        ("S6lpp-7ZCn8-dZfGc-OoyVG", "verify"), ("plain <&> note", None)]
    for txt in txts:  # text at most 4000 characters, purpose at most 128
        assert txt.text and len(txt.text) <= 4000
        assert len(txt.get("purpose") or "") <= 128
    (podroll,) = channel.findall(f"{{{PC}}}podroll")
    items = podroll.findall(f"{{{PC}}}remoteItem")
    assert len(items) == 2  # one or more remoteItem, each with a feedGuid (a UUID)
    for item in items:
        uuid.UUID(item.get("feedGuid", ""))
        assert set(item.keys()) <= {"feedGuid", "feedUrl", "itemGuid", "medium"}
    assert items[0].get("feedUrl") == "https://other.example.org/feed.xml"
    assert items[1].get("feedUrl") is None
    (trailer,) = channel.findall(f"{{{PC}}}trailer")  # only the trailer episode
    assert trailer.text == "Title 2025-12-11-trailer" and len(trailer.text) <= 128
    assert email.utils.parsedate_to_datetime(trailer.get("pubdate", "")) == EPISODES[1].published
    assert trailer.get("url") == ("https://op3.dev/e/podcast.example.com/"
                                  "2025-12-11-trailer/2025-12-11-trailer.mp3")
    assert trailer.get("length") == "12345" and trailer.get("type") == "audio/mpeg"
    assert trailer.get("season") == "1"
    for item in channel.findall("item"):
        enclosure = item.find("enclosure")
        assert enclosure is not None
        assert enclosure.get("url", "").startswith("https://op3.dev/e/podcast.example.com/")


def test_without_settings_the_feed_is_unchanged(config) -> None:  # type: ignore[no-untyped-def]
    plain = replace(config, txt=(), podroll=(), analytics_prefix=None)
    full_only = [e for e in EPISODES if e.episode_type == "full"]
    channel = _channel(build_feed(plain, full_only))
    for tag in ("txt", "podroll", "trailer"):
        assert channel.find(f"{{{PC}}}{tag}") is None
    enclosure = channel.find("item/enclosure")
    assert enclosure is not None
    assert enclosure.get("url", "").startswith("https://podcast.example.com/")


def test_feedparser_reads_the_prefixed_enclosures(config) -> None:  # type: ignore[no-untyped-def]
    parsed = feedparser.parse(build_feed(config, EPISODES))
    assert not parsed.bozo
    assert len(parsed.entries) == 3
    urls = [entry.enclosures[0].href for entry in parsed.entries]
    assert all(url.startswith("https://op3.dev/e/podcast.example.com/") for url in urls)
    assert parsed.entries[1].itunes_episodetype == "trailer"


def test_podcastparser_reads_the_feed_with_the_new_tags(config, monkeypatch  # type: ignore[no-untyped-def]
                                                         ) -> None:
    monkeypatch.setitem(podcastparser.Namespace.NAMESPACES, PC, "podcast")
    parsed = podcastparser.parse("https://podcast.example.com/feed.xml",
                                 io.BytesIO(build_feed(config, EPISODES)))
    assert len(parsed["episodes"]) == 3
    for episode in parsed["episodes"]:
        (enclosure,) = episode["enclosures"]
        assert enclosure["url"].startswith("https://op3.dev/e/podcast.example.com/")
        assert enclosure["file_size"] == 12345


def test_enclosure_url_keeps_plain_http_scheme() -> None:
    assert enclosure_url("https://a.example/x.mp3", None) == "https://a.example/x.mp3"
    assert enclosure_url("https://a.example/x.mp3", "https://op3.dev/e/") == \
        "https://op3.dev/e/a.example/x.mp3"
    assert enclosure_url("http://a.example/x.mp3", "https://op3.dev/e/") == \
        "https://op3.dev/e/http://a.example/x.mp3"


def test_show_toml_reads_the_tables(show: Path) -> None:
    toml = show / "show.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f"""
[[txt]]
text = "S6lpp-7ZCn8"
purpose = "verify"

[[podroll]]
feed_guid = "{OTHER_GUID.upper()}"
feed_url = "https://other.example.org/feed.xml"

[analytics]
prefix = "https://op3.dev/e/"
""", encoding="utf-8")
    config = load_show(toml, show)
    assert config.txt == (ShowText("S6lpp-7ZCn8", "verify"),)
    assert config.podroll == (RemoteFeed(OTHER_GUID, "https://other.example.org/feed.xml"),)
    assert config.analytics_prefix == "https://op3.dev/e/"


@pytest.mark.parametrize(("extra", "message"), [
    ('[[podroll]]\nfeed_guid = "not-a-uuid"\n', "podroll[1].feed_guid"),
    (f'[[podroll]]\nfeed_guid = "{OTHER_GUID}"\nfeed_url = "ftp://x"\n', "podroll[1].feed_url"),
    ('[[txt]]\npurpose = "verify"\n', "txt[1].text"),
    ('[[txt]]\ntext = "' + "x" * 4001 + '"\n', "longer than 4000"),
    ('[analytics]\nprefix = "https://op3.dev/e"\n', "analytics.prefix"),
    ('[analytics]\nprefix = "https://user:secret@stats.example/p/"\n', "user name or password"),
    ('txt = "just text"\n', "array of tables"),
])
def test_show_toml_refuses_bad_tables(show: Path, extra: str, message: str) -> None:
    toml = show / "show.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(extra + "\n" + text if not extra.startswith("[") else text + "\n" + extra,
                    encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_show(toml, show)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)


# ---------------------------------------------------------------- podcast:soundbite

def _timeline():  # type: ignore[no-untyped-def]
    from duopod.mix.timeline import Timeline, TimelineTurn
    from duopod.speech.model import SentenceSpan

    sentences = [SentenceSpan(f"Sentence {n}.", 5.0 * n, 5.0 * n + 4.5) for n in range(10)]
    return Timeline(turns=(TimelineTurn(0, "Alex", "", None, 0.0, 50.0, tuple(sentences)),),
                    chapters=(), duration=50.0)


def test_soundbites_start_at_the_key_sentence_and_last_15_seconds() -> None:
    from duopod.site.soundbites import choose

    bites = choose(_timeline(), ["Sentence 2.", "Not  heard.", "Sentence 8."])
    assert [(b.start, b.duration, b.title) for b in bites] == [
        (10.0, 19.5, "Sentence 2."),  # sentences 2..5: at least 15 s
        (40.0, 9.5, "Sentence 8."),  # cut at the episode's end
    ]


def test_soundbites_reach_the_feed_by_the_namespace_rules(config) -> None:  # type: ignore[no-untyped-def]
    from duopod.store.record import Soundbite

    bite = Soundbite(10.0, 19.5, "A <key> point & more")
    episode = replace(EPISODES[0], soundbites=(bite,))
    # the record keeps them through episode.json, also when read light (for the feed)
    again = EpisodeRecord.from_json(episode.to_json(), light=True)
    assert again.soundbites == (bite,)
    item = _channel(build_feed(config, [again])).find("item")
    assert item is not None
    (tag,) = item.findall(f"{{{PC}}}soundbite")
    # startTime and duration required, in seconds (floats); the title at most 128 characters
    assert float(tag.get("startTime", "")) == 10.0 and float(tag.get("duration", "")) == 19.5
    assert tag.text == "A <key> point & more" and len(tag.text) <= 128
    assert not feedparser.parse(build_feed(config, [again])).bozo


def test_records_without_soundbites_write_none() -> None:
    assert "soundbites" not in EPISODES[0].to_dict()
