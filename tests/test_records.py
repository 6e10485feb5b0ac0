"""The episode record: typed, versioned, and read back from any earlier layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from duopod.mix.timeline import Timeline
from duopod.store.record import RECORD_VERSION, EpisodeRecord, RecordError

SAMPLE = Path(__file__).parent / "data" / "episode-v1.json"


def sample() -> dict:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def test_a_version_1_record_is_upgraded_on_read() -> None:
    data = sample()
    data.pop("engine", None)
    data.pop("notes", None)
    record = EpisodeRecord.from_dict(data)
    assert record.number == 1 and record.slug.startswith("2025-12-10")
    assert record.engine == "espeak"  # the only engine records of that age were built with
    assert record.notes.keywords == ()
    assert record.description_html == record.description
    assert isinstance(record.timeline, Timeline) and len(record.timeline.turns) == 31
    assert record.to_dict()["version"] == RECORD_VERSION


def test_json_round_trip_keeps_everything() -> None:
    record = EpisodeRecord.from_dict(sample())
    again = EpisodeRecord.from_json(record.to_json())
    assert again == record


def test_light_records_drop_timeline_and_source_text_only() -> None:
    whole = EpisodeRecord.from_dict(sample())
    light = EpisodeRecord.from_json(whole.to_json(), light=True)
    assert light.timeline is None and light.source is not None and light.source.text is None
    assert light.source.url == whole.source.url  # type: ignore[union-attr]
    assert light == whole.light()


@pytest.mark.parametrize("text, message", [
    ("{", "not valid JSON"),
    ("[]", "expected a JSON object"),
    ("null", "expected a JSON object"),
    ("{}", "missing field"),
    ('{"version": 99}', "newer than this duopod"),
])
def test_unreadable_records_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        EpisodeRecord.from_json(text)


def test_wrongly_typed_fields_are_refused() -> None:
    data = sample()
    data["episode"] = "one"
    with pytest.raises(RecordError, match="episode"):
        EpisodeRecord.from_dict(data)
    data = sample()
    data["audio"]["bytes"] = 1.5
    with pytest.raises(RecordError, match=r"audio\.bytes"):
        EpisodeRecord.from_dict(data)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("duration", float("nan"), "duration"),
    ("duration", float("inf"), "duration"),
    ("duration", -1, "duration"),
    ("duration", 10**30, "duration"),
    ("episode", -5, "episode"),
    ("episode", 10**30, "episode"),
    ("season", -1, "season"),
    ("season", 10**30, "season"),
])
def test_numbers_out_of_range_are_refused_as_data(field: str, value: float, message: str
                                                  ) -> None:
    """Issue 28 item 5: NaN, a negative episode or 10**30 reached the feed or crashed the
    site; they are a corrupt record like any other."""
    data = sample()
    data[field] = value
    text = json.dumps(data)  # json writes NaN and Infinity; Python's reader takes them back
    with pytest.raises(RecordError, match=message):
        EpisodeRecord.from_json(text)


def test_out_of_range_audio_fields_are_refused() -> None:
    for key, value in (("bytes", -1), ("bytes", 10**30), ("loudness_lufs", float("nan")),
                       ("true_peak_dbtp", "loud")):
        data = sample()
        data["audio"][key] = value
        with pytest.raises(RecordError, match=key):
            EpisodeRecord.from_json(json.dumps(data))


def test_a_record_with_nan_is_never_written() -> None:
    record = EpisodeRecord.from_dict(sample())
    from dataclasses import replace

    with pytest.raises(ValueError):
        replace(record, duration=float("nan")).to_json()
