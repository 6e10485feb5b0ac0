"""The engine registry: one place that knows every engine, plug-ins included."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from duopod.errors import InputError
from duopod.show.workspace import VoiceProfile
from duopod.speech import engines
from duopod.speech.engines import EngineSpec, Voice, choose_auto, engine_spec, registry

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


def test_check_passes_over_an_engine_that_is_not_installed(tmp_path: Path, monkeypatch) -> None:
    """A show whose profiles name an optional engine still checks and builds without it."""
    monkeypatch.setattr("duopod.speech.engines.kokoro.unavailable", lambda: "not installed")
    profile = VoiceProfile("lei", "雷总", tmp_path / "lei.toml",
                           {"espeak": {"voice": "cmn"}, "kokoro": {"voice": "zm_yunxi"}})
    engines.check_profile_settings({"雷总": profile})
    bad = VoiceProfile("lei", "雷总", tmp_path / "lei.toml", {"espeak": {"voice": "nope"}})
    with pytest.raises(InputError, match="no voice 'nope'"):
        engines.check_profile_settings({"雷总": bad})


def test_check_passes_over_kokoro_tables_where_kokoro_is_not_installed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = VoiceProfile("lei", "雷总", tmp_path / "lei.toml", {"kokoro": {"voice": "zm_nobody"}})
    if registry()["kokoro"].unavailable() is None:
        with pytest.raises(InputError, match="kokoro has no voice 'zm_nobody'"):
            engines.check_profile_settings({"雷总": profile})
    monkeypatch.setattr("duopod.speech.engines.kokoro_model.missing_packages",
                        lambda: ["onnxruntime"])
    engines.check_profile_settings({"雷总": profile})


def test_builtin_settings_checks_are_the_engines_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``duopod check`` runs for a built-in engine's table is what a build runs."""
    from duopod.show.workspace import load_workspace

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_TTS_MODEL", raising=False)
    profiles = load_workspace(Path(__file__).parent.parent).profiles.values()
    for name in ("edge", "espeak", "kokoro", "openai"):
        spec = registry()[name]
        assert spec.settings is not None, name
        if name == "kokoro" and spec.unavailable() is not None:
            continue  # not installed here: no engine to compare with
        engine = engines.get_engine(name)
        for profile in profiles:
            assert spec.settings(profile) == engine.settings_for(profile), (name, profile.name)


def test_a_plugin_without_a_settings_check_is_made_to_check_profiles(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Parrot:
        def settings_for(self, profile: VoiceProfile) -> dict[str, str]:
            raise InputError(f"parrot has no voice in {profile.name!r}", profile.path)

    spec = EngineSpec(name="parrot", summary="repeats", licence="MIT",
                      factory=lambda options: Parrot(), voices=lambda language: [])
    monkeypatch.setitem(registry(), "parrot", spec)
    profile = VoiceProfile("lei", "雷总", tmp_path / "lei.toml", {"parrot": {"voice": "x"}})
    with pytest.raises(InputError, match="parrot has no voice in 'lei'"):
        engines.check_profile_settings({"雷总": profile})


def test_check_reports_an_installed_engine_that_fails(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Only an engine that is not installed is passed over: espeak-ng failing to start is
    said, as a build would say it."""
    from duopod.errors import EngineError

    def broken() -> None:
        raise EngineError("espeak-ng failed to initialise its voice data")

    monkeypatch.setattr("duopod.speech.engines.espeak_settings.library", broken)
    profile = VoiceProfile("lei", "雷总", tmp_path / "lei.toml", {"espeak": {"voice": "cmn"}})
    with pytest.raises(EngineError, match="failed to initialise"):
        engines.check_profile_settings({"雷总": profile})
