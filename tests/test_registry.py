"""The engine registry: one place that knows every engine, plug-ins included."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from duopod.errors import InputError
from duopod.speech import engines
from duopod.speech.engines import EngineSpec, Voice, choose_auto, engine_spec, registry
from duopod.workspace import VoiceProfile

PLUGIN = EngineSpec(
    name="parrot", summary="repeats", licence="MIT",
    factory=lambda options: (_ for _ in ()).throw(AssertionError("not built here")),
    voices=lambda language: [Voice("polly", "en")],
)


@pytest.fixture
def with_plugin(monkeypatch: pytest.MonkeyPatch):
    def fake_entry_points(group: str) -> list[EntryPoint]:
        assert group == engines.ENTRY_POINT_GROUP
        return [EntryPoint("parrot", "test_registry:PLUGIN", group),
                EntryPoint("broken", "no_such_module:SPEC", group)]

    monkeypatch.setattr(engines, "entry_points", fake_entry_points)
    registry.cache_clear()
    yield
    registry.cache_clear()


def test_builtin_engines_are_registered() -> None:
    names = list(registry())
    assert names[0] == "edge" and {"espeak", "kokoro", "openai"} <= set(names)
    assert all(isinstance(spec, EngineSpec) for spec in registry().values())


def test_a_plugin_registers_through_the_entry_point_group(with_plugin: None) -> None:
    assert engine_spec("parrot") is PLUGIN
    assert "broken" not in registry()  # a broken plug-in is skipped, the rest still work
    assert registry()["espeak"].name == "espeak"


def test_an_unknown_engine_lists_the_choices() -> None:
    with pytest.raises(InputError, match="choose from auto, edge, kokoro, espeak, openai"):
        engine_spec("festival")


def test_auto_takes_the_best_available_engine_and_says_why(monkeypatch) -> None:
    monkeypatch.setattr("duopod.speech.engines.edge.service_reachable", lambda: False)
    notes: list[str] = []
    expected = "kokoro" if registry()["kokoro"].unavailable() is None else "espeak"
    assert choose_auto(notes.append) == expected
    assert "edge: Microsoft's speech service is not reachable" in notes[0]
    monkeypatch.setattr("duopod.speech.engines.kokoro.unavailable", lambda: "not installed")
    notes.clear()
    assert choose_auto(notes.append) == "espeak"
    assert "kokoro: not installed" in notes[0]
    assert "openai" not in notes[0]  # never chosen by auto, so never mentioned


def test_profile_tables_must_name_an_engine(tmp_path: Path) -> None:
    profile = VoiceProfile("lei", "雷总", tmp_path / "lei.toml", {"espek": {"voice": "cmn"}})
    with pytest.raises(InputError, match=r"\[espek\] in profile 'lei' is not an engine"):
        engines.check_profile_tables({"雷总": profile})
