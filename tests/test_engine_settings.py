"""Engine settings as frozen dataclasses: the same speech cache keys as the dicts they
replace, and every refused setting named by the profile's file and line."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from duopod.disk.jsoncache import json_digest
from duopod.errors import InputError
from duopod.show.voices import VoiceProfile, load_profiles
from duopod.speech.cache import cache_key
from duopod.speech.engines import registry
from duopod.speech.engines.espeak_library import PARAMETERS
from duopod.speech.engines.espeak_settings import EspeakSettings
from duopod.speech.engines.kokoro_settings import KokoroSettings
from duopod.speech.engines.settings import EngineSettings

REPO = Path(__file__).resolve().parent.parent

# The keys below were computed by the code before the dataclasses (engine settings as
# dict[str, Any]), with the engine version "V" and the text "你好。": a cache filled then
# must still answer now. Keys: (profile file, engine, language table or "" for the default).
SHOW_KEYS = {
    ('alex.toml', 'edge', ''):
        'b7c713edc70e595c382c9cd15d8a46e5ec632043053c65bdba79deb936dccadc',
    ('alex.toml', 'espeak', ''):
        '49c17d2cd092249504213e0ac93e00dbb9180c5f9ed0277ae4def58f3027f836',
    ('alex.toml', 'kokoro', ''):
        '1cafa3a36a349ce7689a5ca3899e9417044c1e9b1473e7296aaa795c8b80b034',
    ('alex.toml', 'openai', ''):
        '5cd48809597c6095b1dc361d60eaa1c4bbb22e096bee4c342312164f8621b518',
    ('sam.toml', 'edge', ''):
        '5b4ea9f8a6b2162437adaabfd0cff47818f92dbf4ce5d38f1a562cc0a30edf2c',
    ('sam.toml', 'espeak', ''):
        '32f8a8020f212e781b26bdb58ce903924ef14805f3cd37817ac8055740781bdf',
    ('sam.toml', 'kokoro', ''):
        '37ac9a7e757027ad9854ecb042c7d1f20fe32947247f47c6953c5120afead138',
    ('sam.toml', 'openai', ''):
        '92b7fa096e109bd7dc75ab49c2a7197eefdc71e16c3a60c6f63a14838bd45153',
    ('dong.toml', 'edge', ''):
        'bee149f848631ac45ca796c41f4786ef36710c4173647076f2f6dda3c5a6be11',
    ('dong.toml', 'edge', 'en-US'):
        '8caccadb1a89045aaaeb20b8e485966b1a8ac113e7517c9109bd1eab61c176a6',
    ('dong.toml', 'espeak', ''):
        'af802a56a2726dd77c940b940269cafb06cbd924391ddc16cfb26e589eb104ea',
    ('dong.toml', 'espeak', 'en-US'):
        'e8d34c81ce1e85c33e9b49b582d579ddfb78a1ac126870f33d250a0b35c47759',
    ('dong.toml', 'kokoro', ''):
        '2ef57c51b61488a24b59d3bf05569b97f3bee0a0da2466c60a173877fc2bd27d',
    ('dong.toml', 'kokoro', 'en-US'):
        '37ac9a7e757027ad9854ecb042c7d1f20fe32947247f47c6953c5120afead138',
    ('dong.toml', 'openai', ''):
        '923865adbc1259d90bda6c8712f6ce08dcd642de04f9cdd4a6c4d10b26879a52',
    ('lei.toml', 'edge', ''):
        'd1d297317a70f615c91b77a78435eb5a7b479a7ba81e21db28c99e9c2832e29e',
    ('lei.toml', 'edge', 'en-US'):
        '7a7dd7c1caf7d34b8ccffe98b61e488399f5f10109dce1404f2f34328db9be46',
    ('lei.toml', 'espeak', ''):
        '53c1e5bc7c69894b1d44ef23979a9f89304899d35a95e70e1c173cd71feb45a3',
    ('lei.toml', 'espeak', 'en-US'):
        '525988d3a43dcbf02ea5feb9919333e4a52594844d46339356980c8baae56377',
    ('lei.toml', 'kokoro', ''):
        'fadf983c1aace87a81a7cfdbf3260abe2b39805da22f2d01d33c686258a32fa0',
    ('lei.toml', 'kokoro', 'en-US'):
        '1cafa3a36a349ce7689a5ca3899e9417044c1e9b1473e7296aaa795c8b80b034',
    ('lei.toml', 'openai', ''):
        '6a8a34d213b7267683755d84517f333773c664b460d280ba44db30f3bcefe527',
}
TABLE_KEYS = [
    ('espeak', {'voice': 'cmn'},
     '686023a41f652fd958cc4551fea04a518e1502b6406c2269e292a569287d35a4'),
    ('espeak', {'voice': 'en-us', 'rate': 80, 'volume': 200, 'pitch': 0, 'range': 99, 'word_gap': 100},
     'b33ea58383a910815384025c7f3dd23a8424c769c1373ea9987d256434ce8b5c'),
    ('edge', {'voice': 'zh-CN-XiaoxiaoNeural'},
     'bee149f848631ac45ca796c41f4786ef36710c4173647076f2f6dda3c5a6be11'),
    ('edge', {'voice': 'en-US-GuyNeural', 'pitch': '-10Hz'},
     '64a29af9641e01ce1a36dbd248eff068fe9b1e01c7a3ffc071007a2524d6ebf7'),
    ('kokoro', {'voice': 'zf_xiaobei', 'speed': 1},
     '2ef57c51b61488a24b59d3bf05569b97f3bee0a0da2466c60a173877fc2bd27d'),
    ('kokoro', {'voice': 'af_heart', 'speed': 1.25},
     '0b350a63973939f5631a99cfeaa7140ca02aa8a326dca6affd2b9f997bcb01a9'),
    ('kokoro', {'voice': 'am_michael'},
     '1cafa3a36a349ce7689a5ca3899e9417044c1e9b1473e7296aaa795c8b80b034'),
    ('openai', {'voice': 'onyx'},
     '6a8a34d213b7267683755d84517f333773c664b460d280ba44db30f3bcefe527'),
    ('openai', {'voice': 'onyx', 'model': 'gpt-4o-mini-tts', 'speed': 2, 'base_url': 'http://box:8880/v1/', 'response_format': 'mp3', 'instructions': ' calm ', 'api_key_env': 'BOX_KEY'},
     'ab30fe9a576419ca12813cc650ee0e3645527b4fb18bbf984dc43cb48d846e9d'),
]

@pytest.fixture
def no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_TTS_MODEL", raising=False)


def _key(engine: str, profile: VoiceProfile) -> str:
    check = registry()[engine].settings
    assert check is not None
    return cache_key(engine, "V", check(profile), "你好。")


def _installed(engine: str) -> bool:
    return registry()[engine].unavailable() is None or engine != "kokoro"


@pytest.mark.usefixtures("no_openai_environment")
def test_the_example_shows_voices_keep_their_cache_keys() -> None:
    profiles = {profile.path.name: profile for profile in load_profiles(REPO / "voices").values()}
    found = {}
    for (name, engine, tag) in SHOW_KEYS:
        if _installed(engine):
            profile = profiles[name]
            found[name, engine, tag] = _key(engine, profile.for_language(tag) if tag else profile)
    assert found == {place: key for place, key in SHOW_KEYS.items() if place in found}
    assert len(found) >= 16  # kokoro's keys too where it is installed


@pytest.mark.usefixtures("no_openai_environment")
@pytest.mark.parametrize(("engine", "table", "key"), TABLE_KEYS)
def test_every_field_and_omission_keeps_its_cache_key(engine: str, table: dict[str, object],
                                                      key: str, tmp_path: Path) -> None:
    """Defaults filled in (edge's prosody, kokoro's speed as a float), unset fields left
    out (espeak's parameters, openai's instructions): the key of the dict as it was."""
    if not _installed(engine):
        pytest.skip(f"the {engine} engine is not installed here")
    assert _key(engine, VoiceProfile("x", "X", tmp_path / "x.toml", {engine: table})) == key


def test_the_cache_fields_are_the_dataclass_fields_set() -> None:
    assert EspeakSettings("cmn+f3", rate=160).cache_fields() == {"voice": "cmn+f3", "rate": 160}
    assert KokoroSettings("zf_xiaobei").cache_fields() == {"voice": "zf_xiaobei", "speed": 1.0}
    # every parameter espeak-ng takes is a field (a new one would otherwise be refused)
    assert {f.name for f in fields(EspeakSettings)} == {"voice", *PARAMETERS}


def test_an_engine_is_handed_only_its_own_settings() -> None:
    assert EspeakSettings.of(EspeakSettings("cmn")) == EspeakSettings("cmn")
    with pytest.raises(TypeError, match="EspeakSettings expected, got KokoroSettings"):
        EspeakSettings.of(KokoroSettings("zf_xiaobei"))
    with pytest.raises(TypeError):
        KokoroSettings.of(EngineSettings("zf_xiaobei"))


PROFILE = """\
# a host
speaker = "雷总"

[espeak]
voice = "cmn"
variant = "m3"
rate = 165

[espeak."en-US"]
voice = "en-us"
pitch = 120

[edge]
rate = "+5%"

[kokoro]
voice = "zm_yunxi"
speed = "fast"

[openai]
voice = "onyx"
colour = "blue"
"""


@pytest.mark.usefixtures("no_openai_environment")
@pytest.mark.parametrize(("engine", "language", "line", "message"), [
    ("espeak", "en-US", 11, "espeak pitch in profile 'lei' must be a whole number"),
    ("edge", "", 13, r"has no \[edge\] voice"),
    ("kokoro", "", 18, "kokoro speed in profile 'lei' must be a number"),
    ("openai", "", 22, "unknown openai setting 'colour'"),
])
def test_a_refused_setting_names_the_file_and_line(tmp_path: Path, engine: str,
                                                   language: str, line: int,
                                                   message: str) -> None:
    """The line the producer wrote the setting on, in the language table it came from; a
    missing setting names its engine's table."""
    if not _installed(engine):
        pytest.skip(f"the {engine} engine is not installed here")
    (tmp_path / "lei.toml").write_text(PROFILE, encoding="utf-8")
    profile = load_profiles(tmp_path)["雷总"]
    check = registry()[engine].settings
    assert check is not None
    with pytest.raises(InputError, match=message) as caught:
        check(profile.for_language(language) if language else profile)
    assert str(caught.value).startswith(f"{tmp_path / 'lei.toml'}:{line}: ")
    assert "\n" not in str(caught.value)


def test_a_setting_from_the_default_table_names_its_own_line(tmp_path: Path) -> None:
    """An English episode takes rate from [espeak] (not its language table): that line."""
    (tmp_path / "lei.toml").write_text(PROFILE.replace("rate = 165", "rate = 999"),
                                       encoding="utf-8")
    english = load_profiles(tmp_path)["雷总"].for_language("en-US")
    check = registry()["espeak"].settings
    assert check is not None
    with pytest.raises(InputError, match="espeak rate") as caught:
        check(english)
    assert caught.value.line == 7


def test_a_plugin_engine_that_returns_a_plain_dict_keeps_working_and_its_keys() -> None:
    """A plug-in engine written before the dataclasses returned its settings as a dict: it
    is wrapped, not refused; it still reads them as a dict, and its turns keep the cache
    keys they had (the key of the dict itself)."""
    from duopod.speech.cache import FORMAT_VERSION
    from duopod.speech.engines.settings import PlainSettings, settings_of

    table: dict[str, object] = {"voice": "polly", "pitch": 3}
    settings = settings_of(table)
    assert isinstance(settings, PlainSettings) and settings.voice == "polly"
    assert settings["pitch"] == 3 and dict(settings) == table  # read as the dict it was
    legacy = json_digest({"format": FORMAT_VERSION, "engine": "parrot", "version": "1",
                          "settings": table, "text": "你好。"})
    assert cache_key("parrot", "1", settings, "你好。") == legacy
    typed = KokoroSettings("zm_yunxi", 1.0)
    assert settings_of(typed) is typed
