"""How one turn meets the turn before it, read from the script's text alone: an answer to a
question, a quick exchange of short turns, a turn after a long statement, a cut-off, a
backchannel laid under the other host's words.

People in conversation leave about 0.2 s between speakers (Stivers et al., PNAS 2009, ten
languages), less after a question, more after a long statement, and talk over each other
when one cuts in or murmurs "嗯" while the other goes on. The mix turns these meetings into
gaps and overlaps (``mix.conversation``); ``duopod check`` and the writers' room count them
with the same rules, so what a script says is what a build does. Everything here depends
only on the text, so a rebuild (or another engine) meets the turns the same way.

The conventions, in the script as written:

- a turn ending in a dash or an ellipsis cut (``——``, ``—``, ``--``, ``……``) is cut off:
  the next host starts before it ends;
- a short turn (up to ``BACKCHANNEL_HAN`` Chinese characters or ``BACKCHANNEL_WORDS``
  English words, not a question) between two turns of the other host is a backchannel:
  laid under the host's words instead of stopping them;
- a pause direction at the meeting (``（停顿）`` before or after) or ``（单独）`` /
  ``[apart]`` on the short turn keeps the turns apart, as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .model import Script, Turn

CUT_OFF_MARKS = ("——", "—", "--", "……")
"""Endings that cut a turn off: the next speaker starts before it ends."""
BACKCHANNEL_HAN = 4
"""The most Chinese characters a backchannel has ("嗯。", "对对对。", "是的是的。")."""
BACKCHANNEL_WORDS = 2
"""The most English words a backchannel has ("Right.", "Mm-hmm.", "Yeah, exactly.")."""
HAN_PER_SECOND = 175 / 60
"""The example show's measured speaking rate (docs/writers-room.md): 175 characters a
minute."""
WORDS_PER_SECOND = 150 / 60
"""English at a common broadcast rate, 150 words a minute."""
SHORT_SECONDS = 4.0
"""A turn this short or shorter (estimated from its text) is short: two in a row are a
quick exchange (about 12 Chinese characters, 10 English words)."""
LONG_SECONDS = 12.0
"""A turn this long or longer is a long statement: the next speaker takes a moment (about
35 Chinese characters, 30 English words)."""

_CLOSERS = "\"'”’」』）)]】》> \t"
_QUESTION_MARKS = ("？", "?")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")


class Meeting(Enum):
    """How a turn meets the one before it (the value is what documents and tests call it)."""

    FIRST = "first"
    """The episode's first turn."""
    SECTION = "section"
    """The first turn of a new section: the section gap."""
    ANSWER = "answer"
    """After a question: a fast answer."""
    QUICK = "quick"
    """Inside an exchange of short turns: faster still."""
    LONG = "long"
    """After a long statement: a moment to take it in."""
    TURN = "turn"
    """Any other speaker change (or a host going on after their own turn)."""
    INTERRUPTION = "interruption"
    """The turn before was cut off: this one starts before it ends."""
    BACKCHANNEL = "backchannel"
    """A short reply laid under the other host's words, who goes on."""
    RESUME = "resume"
    """The host going on after a backchannel laid under their words."""


@dataclass(frozen=True)
class TurnMeeting:
    """How turn ``index`` meets what comes before it; ``under`` is the turn a backchannel
    (or a resumed turn) belongs with: the other host's turn it lies under (resumes)."""

    index: int
    kind: Meeting
    under: int | None = None


def _ending(text: str) -> str:
    return text.rstrip(_CLOSERS)


def is_cut_off(text: str) -> bool:
    """Whether the turn's words end in a dash or an ellipsis cut."""
    return _ending(text).endswith(CUT_OFF_MARKS)


def is_question(text: str) -> bool:
    """Whether the turn ends by asking (a question mark, perhaps with an exclamation)."""
    return _ending(text).rstrip("！!").endswith(_QUESTION_MARKS)


def han_count(text: str) -> int:
    return len(_HAN.findall(text))


def word_count(text: str) -> int:
    """English (Latin-script) words and numbers, outside Chinese characters."""
    return len(_WORD.findall(_HAN.sub(" ", text)))


def spoken_seconds(text: str) -> float:
    """How long the text takes to say, estimated from its length at the measured rates."""
    return han_count(text) / HAN_PER_SECOND + word_count(text) / WORDS_PER_SECOND


def is_backchannel_text(text: str) -> bool:
    """A reply short enough to murmur under the other host: at most BACKCHANNEL_HAN Chinese
    characters or BACKCHANNEL_WORDS English words (not both), and neither a question (it
    wants an answer) nor cut off."""
    han, words = han_count(text), word_count(text)
    if is_question(text) or is_cut_off(text) or han + words == 0:
        return False
    return (words == 0 and han <= BACKCHANNEL_HAN) or (han == 0 and words <= BACKCHANNEL_WORDS)


def keeps_apart(turn: Turn) -> bool:
    """The producer's ``（单独）`` / ``[apart]``: this turn is never laid under another."""
    return any(d.kind == "apart" for d in turn.directions)


def _quiet_edges(before: Turn, after: Turn) -> bool:
    """No pause direction where ``before`` ends and ``after`` begins."""
    return before.pause_after() == 0 and after.pause_before() == 0


def _backchannel(turns: tuple[Turn, ...], i: int) -> bool:
    """Whether turn ``i`` lies under its neighbours: between two turns of one other host in
    the same section, short, not kept apart, with no pause around it."""
    if not 0 < i < len(turns) - 1:
        return False
    before, turn, after = turns[i - 1], turns[i], turns[i + 1]
    return (before.speaker == after.speaker != turn.speaker
            and before.section == turn.section == after.section
            and is_backchannel_text(turn.text) and not keeps_apart(turn)
            and not is_cut_off(before.text)
            and _quiet_edges(before, turn) and _quiet_edges(turn, after)
            and not turn.pauses_within())


def meetings(script: Script, *, backchannels: bool = True, interruptions: bool = True
             ) -> list[TurnMeeting]:
    """How each turn of ``script`` meets the one before it, in order. ``backchannels`` and
    ``interruptions`` false (show.toml's ``[mix]``) keep those turns apart as written."""
    turns = script.turns
    out: list[TurnMeeting] = []
    laid: set[int] = set()
    for i, turn in enumerate(turns):
        if i == 0:
            out.append(TurnMeeting(turn.index, Meeting.FIRST))
            continue
        before = turns[i - 1]
        if backchannels and i - 1 in laid:
            out.append(TurnMeeting(turn.index, Meeting.RESUME, turns[i - 2].index))
        elif backchannels and _backchannel(turns, i):
            laid.add(i)
            out.append(TurnMeeting(turn.index, Meeting.BACKCHANNEL, before.index))
        else:
            out.append(TurnMeeting(turn.index, _kind(before, turn, interruptions)))
    return out


def _kind(before: Turn, turn: Turn, interruptions: bool) -> Meeting:
    if turn.section != before.section:
        return Meeting.SECTION
    if (interruptions and turn.speaker != before.speaker and is_cut_off(before.text)
            and _quiet_edges(before, turn)):
        return Meeting.INTERRUPTION
    if turn.speaker != before.speaker and is_question(before.text):
        return Meeting.ANSWER
    if spoken_seconds(before.text) <= SHORT_SECONDS and spoken_seconds(turn.text) <= SHORT_SECONDS:
        return Meeting.QUICK
    if spoken_seconds(before.text) >= LONG_SECONDS:
        return Meeting.LONG
    return Meeting.TURN


def counted(found: list[TurnMeeting]) -> dict[Meeting, int]:
    """How many turns meet their predecessor in each way (for ``duopod check`` and the
    writers' room)."""
    counts = dict.fromkeys(Meeting, 0)
    for meeting in found:
        counts[meeting.kind] += 1
    return counts
