"""What in a turn's text is not to be read aloud: stage directions in brackets and Markdown
emphasis.

A producer writes ``(笑)`` or ``[pause]`` for the hosts, not for the listener; a voice that
reads "左括号笑右括号" or "asterisk asterisk" ruins the episode. Only bracketed text made of
a small known vocabulary is a direction, so real parenthetical content such as ``(AI)``,
``（H200）``, ``(2025)`` or ``(RTX 6000)`` is always kept and spoken.
"""

from __future__ import annotations

import re
import unicodedata

from .model import Direction

PAUSE_SECONDS = 0.8
"""How long a pause direction lasts when it does not say (``（停顿）``, ``[pause]``)."""
_PAUSE_LIMITS = (0.1, 10.0)

# kind -> the words that name it; "pause" and "laugh" are kept as timing and markers, "apart"
# keeps a short reply from being laid under the other host (script.exchange), every other
# kind (music, applause, sighs ...) is dropped: the mix has no sound for it.
_ZH_VOCABULARY: dict[str, tuple[str, ...]] = {
    "pause": ("停顿", "停", "暂停", "沉默", "静默", "留白"),
    "laugh": ("笑", "大笑", "笑声", "轻笑", "微笑", "苦笑", "干笑", "偷笑", "哈哈大笑", "两人笑",
              "一起笑"),
    "sound": ("叹气", "叹息", "音乐", "背景音乐", "片头音乐", "片尾音乐", "音效", "掌声", "鼓掌",
              "咳嗽", "清嗓子", "吸气", "呼气", "转场", "喝水"),
    "apart": ("单独", "不叠", "不重叠", "分开"),
}
_EN_VOCABULARY: dict[str, tuple[str, ...]] = {
    "pause": ("pause", "pauses", "silence", "beat"),
    "laugh": ("laugh", "laughs", "laughter", "laughing", "chuckle", "chuckles", "chuckling",
              "giggle", "giggles"),
    "sound": ("music", "applause", "applauds", "sigh", "sighs", "sighing", "cough", "coughs",
              "sfx", "jingle", "crosstalk", "inhales", "exhales", "breath", "breathes", "clears",
              "throat", "intro", "outro", "sting"),
    "apart": ("apart", "alone", "separately"),
}
_EN_MODIFIERS = frozenset(re.findall(r"\w+", """
    a an the long longer short brief briefly softly quietly loudly nervously awkwardly both
    together all fades fade in out up down under plays playing background sound effect
    effects his her their dramatic slight small"""))
_ZH_MODIFIERS = re.compile(r"^(?:短暂|长时间|稍作|稍|略|一阵|一|长|短|大家|两人)?(.+?)"
                           r"(?:一下|片刻|一会儿?|起|声)?$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(?:秒钟?|s\b|secs?\b|seconds?\b)", re.IGNORECASE)
_BRACKETED = re.compile(r"[(（]([^()（）\n]{1,30})[)）]|[\[【]([^\[\]【】\n]{1,30})[\]】]")


def _kind_of(content: str) -> str | None:
    """The kind of direction ``content`` (the text inside the brackets) names, if it names
    one: only vocabulary words, a few modifiers and a duration are allowed in it."""
    text = unicodedata.normalize("NFKC", content).strip().lower()
    text = _DURATION.sub(" ", text).strip(" ,，、:：-")
    if not text:
        return None
    if re.fullmatch(r"[a-z ,'-]+", text):
        words = re.findall(r"[a-z]+", text)
        kinds = [k for k, terms in _EN_VOCABULARY.items() for w in words if w in terms]
        others = [w for w in words if w not in _EN_MODIFIERS
                  and not any(w in terms for terms in _EN_VOCABULARY.values())]
        return kinds[0] if kinds and not others else None
    for candidate in (text, _ZH_MODIFIERS.sub(r"\1", text)):
        for kind, terms in _ZH_VOCABULARY.items():
            if candidate in terms:
                return kind
    return None


def _seconds(content: str) -> float:
    match = _DURATION.search(unicodedata.normalize("NFKC", content))
    if not match:
        return PAUSE_SECONDS
    low, high = _PAUSE_LIMITS
    return min(max(float(match.group(1)), low), high)


def direction_in(content: str) -> tuple[str, float] | None:
    """(kind, seconds) when bracketed ``content`` is a stage direction, else None."""
    kind = _kind_of(content)
    if kind is None:
        return None
    return kind, _seconds(content) if kind == "pause" else 0.0


_SENTINEL = "\x00"


def extract_directions(text: str) -> tuple[str, tuple[Direction, ...]]:
    """``text`` without its stage directions, and the pauses, laughs and ``apart`` marks
    among them, each placed by the number of characters of the returned text before it.
    Other directions (music, applause, sighs) are dropped."""
    found: list[tuple[str, str, float]] = []

    def cut(match: re.Match[str]) -> str:
        content = match.group(1) or match.group(2)
        direction = direction_in(content)
        if direction is None:
            return match.group(0)
        found.append((direction[0], content.strip(), direction[1]))
        return _SENTINEL

    marked = _tidy_spaces(_BRACKETED.sub(cut, text))
    directions: list[Direction] = []
    clean: list[str] = []
    for char in marked:
        if char == _SENTINEL:
            kind, label, seconds = found[len(directions)]  # sentinels come in order
            directions.append(Direction(kind, label, len(clean), seconds))
            continue
        clean.append(char)
    kept = tuple(d for d in directions if d.kind in ("pause", "laugh", "apart"))
    return "".join(clean), kept


def _tidy_spaces(text: str) -> str:
    """Remove the spaces a cut direction leaves: none before punctuation or at either end,
    one between words."""
    text = re.sub(r"\s*(\x00+)\s*", lambda m: m.group(1) + (" " if m.group(0) != m.group(1)
                                                             else ""), text)
    text = re.sub(r"(\x00+) (?=[,.!?;:，。！？；：、)）\]】]|$)", r"\1", text)
    text = re.sub(r"^(\x00+) ", r"\1", text)
    return text.strip()


# ---------------------------------------------------------------- Markdown emphasis

_STRONG = re.compile(r"(?<![A-Za-z0-9*_\\])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?![A-Za-z0-9*_])")
_EMPHASIS = re.compile(r"(?<![A-Za-z0-9*\\])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![A-Za-z0-9*])")
_CODE = re.compile(r"`([^`\n]+)`")


def strip_emphasis(text: str, unwrap_code: bool = True) -> str:
    """``**重点**``, ``__x__``, ``*word*`` and ```code``` lose their markup and keep their
    words; markup glued to letters or digits (``H20*2``, ``2**10``, ``snake__case__x``),
    ``C++`` and what is inside backticks (```__init__```) stay as written, since they are
    what the host says."""
    pieces = _CODE.split(text)  # odd pieces are code spans: kept verbatim
    for i in range(len(pieces)):
        if i % 2 == 0:
            pieces[i] = _EMPHASIS.sub(r"\1", _STRONG.sub(r"\2", pieces[i]))
        elif not unwrap_code:
            pieces[i] = f"`{pieces[i]}`"  # a later pass unwraps it
    return "".join(pieces)


def spoken_text(text: str) -> tuple[str, tuple[Direction, ...]]:
    """What a host says of ``text``, and the directions in it."""
    return extract_directions(strip_emphasis(text))
