"""Golden files: the feed and the transcripts of one fixed episode, byte for byte.

A change to what duopod publishes shows here as a diff to review. When the change is
intended, write the new files with ``UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and
commit them with the change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from duopod.show.workspace import ShowConfig
from duopod.site import transcripts
from duopod.site.feed import build_feed
from duopod.store.record import EpisodeRecord

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SHOW = ShowConfig(title="芯闻两人谈", author="duopod Studio", language="zh-CN",
                  base_url="https://podcast.example.com", description="两位主持人聊科技新闻。",
                  category="News", subcategory="Tech News", email="producer@example.com")


def record() -> EpisodeRecord:
    return EpisodeRecord.from_json((HERE / "data" / "episode-v1.json").read_text("utf-8"))


def outputs() -> dict[str, str]:
    episode = record()
    assert episode.timeline is not None
    return {
        "feed.xml": build_feed(SHOW, [episode.light()]).decode("utf-8"),
        "transcript.vtt": transcripts.to_vtt(episode.timeline),
        "transcript.srt": transcripts.to_srt(episode.timeline),
        "transcript.json": transcripts.to_json(episode.timeline),
        "chapters.json": transcripts.chapters_json(episode.timeline),
    }


@pytest.mark.parametrize("name", sorted(outputs()))
def test_published_files_match_the_golden_ones(name: str) -> None:
    made = outputs()[name]
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(made, encoding="utf-8")
    assert made == path.read_text(encoding="utf-8"), f"{name} differs from {path}"
