"""Casting: a distinct voice for every host, by gender and tone, in each engine a build may
use, when the show names none: ``duopod init`` for a new show's hosts, ``duopod translate``
for a language the hosts have no voice in yet.

Two hosts of one gender must not sound alike, so the second takes the voice whose pitch
lies farthest from the first's (kokoro's voices are measured: ``kokoro_catalogue``); a
host going into another language keeps their tone, taking the voice nearest their own
voice's pitch. Among kokoro's English voices only the well graded ones (C+ or better by
kokoro-js's grades), and no voice pitched like a child's; a producer can pick any other
with ``duopod voices``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..show.workspace import VoiceProfile
from .engines.kokoro_catalogue import CATALOGUE

__all__ = ["CASTABLE", "GENDERS", "Cast", "cast_hosts", "castable", "gender_of", "pitch_of"]

GENDERS = ("male", "female")
_FIRST = {("zh-CN", "male"): "zm_yunxi", ("zh-CN", "female"): "zf_xiaobei",
          ("en-US", "male"): "am_michael", ("en-US", "female"): "af_heart",
          ("en-GB", "male"): "bm_george", ("en-GB", "female"): "bf_emma"}
"""The first host of a gender gets the voice duopod's example shows use (or the best
graded British one)."""
_GOOD_RANK = 6
"""Kokoro voices graded C+ or better (``KokoroVoice.rank`` up to 6), or ungraded (the
Mandarin ones), are cast."""
_ADULT = {"male": (85, 180), "female": (140, 260)}
"""Pitches (Hz) of an adult speaking voice: a voice measured outside (zm_yunxia and
zf_xiaoyi at 292 Hz sound like children) is never cast, only chosen."""
_EDGE = {
    ("zh-CN", "male"): ("zh-CN-YunjianNeural", "zh-CN-YunxiNeural", "zh-CN-YunyangNeural"),
    ("zh-CN", "female"): ("zh-CN-XiaoxiaoNeural", "zh-CN-XiaoyiNeural"),
    ("en-US", "male"): ("en-US-GuyNeural", "en-US-ChristopherNeural", "en-US-EricNeural"),
    ("en-US", "female"): ("en-US-JennyNeural", "en-US-AriaNeural", "en-US-MichelleNeural"),
    ("en-GB", "male"): ("en-GB-RyanNeural", "en-GB-ThomasNeural"),
    ("en-GB", "female"): ("en-GB-SoniaNeural", "en-GB-LibbyNeural"),
}
_ESPEAK = {"zh-CN": "cmn", "en-US": "en-us", "en-GB": "en-gb"}
_VARIANTS = {"male": (("m3", 35), ("m1", 45), ("m2", 28), ("m4", 40)),
             "female": (("f3", 65), ("f2", 55), ("f4", 72), ("f1", 60))}
"""espeak's variants, each with a pitch, per gender: a second host of one gender sounds
another way."""
_FIRST_VARIANT = {("en-US", "male"): ("m1", 40), ("en-US", "female"): ("f2", 62)}
"""The example English show's espeak voices come first in English."""
_OPENAI = {"male": ("onyx", "echo", "fable"), "female": ("nova", "shimmer", "alloy")}
CASTABLE = tuple(sorted({language for language, _gender in _EDGE}))
"""The languages duopod can cast voices in (kokoro's front end speaks these)."""


@dataclass(frozen=True)
class Cast:
    """One host's voices in one language, per engine."""

    language: str
    gender: str
    kokoro: str
    espeak: str
    variant: str
    espeak_pitch: int
    edge: str
    openai: str


def castable(language: str) -> str | None:
    """The castable language tag ``language`` asks for (``en`` -> en-US), or None."""
    for tag in CASTABLE:
        if tag.lower() == language.lower():
            return tag
    primary = language.lower().split("-")[0]
    return {"zh": "zh-CN", "cmn": "zh-CN", "en": "en-US"}.get(primary)


def cast_hosts(language: str, genders: Sequence[str], like: Sequence[int | None] = (),
               taken: Sequence[str] = ()) -> list[Cast]:
    """A distinct voice per engine for each host (``genders[i]``: male or female), in
    ``language`` (one of CASTABLE). ``like[i]``: the pitch of the host's voice in another
    language, to keep their tone; ``taken``: kokoro voices other hosts already have."""
    tag = castable(language)
    if tag is None:
        raise ValueError(f"no voices to cast in {language}")
    used = set(taken)
    casts: list[Cast] = []
    for i, gender in enumerate(genders):
        same = sum(1 for other in genders[:i] if other == gender)
        kokoro = _kokoro(tag, gender, used, like[i] if i < len(like) else None)
        used.add(kokoro)
        variant, pitch = _variants(tag, gender)[same % len(_VARIANTS[gender])]
        edge = _EDGE[(tag, gender)]
        openai = _OPENAI[gender]
        casts.append(Cast(tag, gender, kokoro, _ESPEAK[tag], variant, pitch,
                          edge[same % len(edge)], openai[same % len(openai)]))
    return casts


def _variants(language: str, gender: str) -> list[tuple[str, int]]:
    first = _FIRST_VARIANT.get((language, gender))
    rest = [v for v in _VARIANTS[gender] if first is None or v[0] != first[0]]
    return [first, *rest][: len(_VARIANTS[gender])] if first else rest


def _kokoro(language: str, gender: str, used: set[str], like: int | None) -> str:
    """The kokoro voice for one host: nearest ``like`` in pitch when given; else the
    example shows' voice for the first of a gender, then the one farthest in pitch from
    those already cast."""
    low, high = _ADULT[gender]
    pool = [v for v in CATALOGUE.values() if v.gender == gender
            and (v.rank <= _GOOD_RANK or not v.grade) and low <= v.pitch <= high
            and v.language.split("-")[0] == language.split("-")[0]]
    free = [v for v in pool if v.name not in used] or pool
    local = [v for v in free if v.language == language] or free
    if like is not None:
        return min(local, key=lambda v: (abs(v.pitch - like), v.rank, v.name)).name
    first = _FIRST.get((language, gender))
    if first is not None and first not in used:
        return first
    cast = [CATALOGUE[name].pitch for name in used if name in CATALOGUE
            and CATALOGUE[name].gender == gender]
    return max(local, key=lambda v: (min((abs(v.pitch - p) for p in cast), default=0),
                                     -v.rank, v.name)).name


def gender_of(profile: VoiceProfile) -> str | None:
    """A host's gender as their voices tell it: kokoro's name (``zf_``), espeak's variant
    (``f3``) or a known edge voice; None when none does."""
    kokoro = str(profile.settings("kokoro").get("voice", ""))
    if kokoro in CATALOGUE:
        return CATALOGUE[kokoro].gender
    variant = str(profile.settings("espeak").get("variant", ""))
    if variant[:1] in ("m", "f"):
        return "male" if variant[0] == "m" else "female"
    edge = str(profile.settings("edge").get("voice", ""))
    for (_language, gender), names in _EDGE.items():
        if edge in names:
            return gender
    return None


def pitch_of(profile: VoiceProfile) -> int | None:
    """The measured pitch of the host's kokoro voice, if it has one."""
    known = CATALOGUE.get(str(profile.settings("kokoro").get("voice", "")))
    return known.pitch if known is not None else None
