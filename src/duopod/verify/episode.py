"""Hear what listeners hear: every sentence of a published episode's MP3, cut at the
times its record gives (the mix's sentence timeline, the same times the transcripts
carry), transcribed by the listener and compared with the script.

A sentence is flagged when its character error rate is over the threshold or when one of
its product codes or English terms was not heard (a misheard "H20" in a long sentence
costs little CER but is the mistake a listener notices); each misheard term comes with a
lexicon line to try. The report is written as JSON into the show's private state
(``.duopod/verify/SLUG.json``), never into the published site.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..disk.atomic import write_atomically
from ..errors import EXIT_FAILURE, DuopodError, InputError
from ..show.workspace import Workspace
from ..speech.lexicon import Speller, lexicon_entries, speller
from ..store.episodes import episode_folder
from ..store.record import EpisodeRecord, RecordError
from .heard import Hearing, compare, plain, terms
from .suggest import respelled
from .whisper import WHISPER_RATE, VerifyUnavailable

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DEFAULT_THRESHOLD", "Ear", "HeardSentence", "LexiconLine", "VerifyReport",
           "listening_line", "report_path", "verify_episode"]

DEFAULT_THRESHOLD = 0.25
"""CER over which a sentence is flagged. Whisper-base itself misses characters of clean
speech (``make bench`` holds kokoro's plain Mandarin sentences to a mean of 0.10, and
single short sentences scatter far around a mean), so a lower bar flags sentences a
listener understands; a misheard term flags a sentence whatever its CER."""
PAD_SECONDS = 0.08
"""Heard on either side of a sentence's span: the timeline's edges are tight, and a
clipped first consonant would be blamed on the voice."""


class Ear(Protocol):
    """What verify needs of a listener (``whisper.Listener``, or a test's stand-in)."""

    def hear(self, samples: np.ndarray, language: str) -> str: ...


@dataclass(frozen=True)
class LexiconLine:
    """A lexicon entry to try for a misheard term, in the table it belongs to: the
    episode's language and engine (the mishearing was this voice's)."""

    term: str
    spoken: str | None
    """None: no suggestion (a plain word: its spoken form is the producer's to give)."""
    language: str
    engine: str
    current: str | None = None
    """What the lexicon asks the voice to say for the term now, if anything."""
    said: int = 1
    misheard: int = 1
    """How often the episode says the term, and how often it was misheard."""

    @property
    def note(self) -> str:
        """Why there is no suggestion when the term was mostly heard right."""
        if self.misheard * 2 <= self.said:
            return f"heard right {self.said - self.misheard} of {self.said} times"
        return ""

    @property
    def table(self) -> str:
        return f"{self.language}.{self.engine}"

    def toml(self) -> str:
        """The line as it goes into lexicon.toml under ``[table]``."""
        return f"{json.dumps(self.term, ensure_ascii=False)} = " \
               f"{json.dumps(self.spoken or '…', ensure_ascii=False)}"


@dataclass(frozen=True)
class HeardSentence:
    turn: int
    """The turn's number, from 1 (as ``check``, ``build`` and the studio count them)."""
    speaker: str
    start: float
    end: float
    said: str
    spoken: str
    """What the engine was asked to say (the script's words through the lexicon)."""
    heard: str
    cer: float
    misheard: tuple[str, ...]
    suggestions: tuple[LexiconLine, ...]
    flagged: bool


@dataclass(frozen=True)
class VerifyReport:
    slug: str
    language: str
    engine: str
    threshold: float
    audio_seconds: float
    """The episode's length."""
    heard_seconds: float
    """The sentences' total length, what was transcribed."""
    seconds: float
    """Wall time of the hearing (model load excluded)."""
    cpu_seconds: float
    """This process's CPU time for the same (the figure to trust on a shared machine)."""
    sentences: tuple[HeardSentence, ...] = field(default=())

    @property
    def flagged(self) -> tuple[HeardSentence, ...]:
        return tuple(s for s in self.sentences if s.flagged)

    @property
    def mean_cer(self) -> float:
        return sum(s.cer for s in self.sentences) / max(1, len(self.sentences))

    @property
    def exit_code(self) -> int:
        """0 when every sentence was heard well, 1 when some were flagged (as a linter
        that found something); 2 is left to verification that could not run."""
        return EXIT_FAILURE if self.flagged else 0

    def suggestions(self) -> list[LexiconLine]:
        """Every flagged sentence's suggestions, each term once, in order of hearing."""
        seen: dict[str, LexiconLine] = {}
        for sentence in self.flagged:
            for line in sentence.suggestions:
                seen.setdefault(line.term, line)
        return list(seen.values())

    def to_json(self) -> str:
        data = {"slug": self.slug, "language": self.language, "engine": self.engine,
                "threshold": self.threshold, "audio_seconds": round(self.audio_seconds, 3),
                "heard_seconds": round(self.heard_seconds, 3),
                "seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3),
                "mean_cer": round(self.mean_cer, 4),
                "flagged": len(self.flagged),
                "sentences": [{**asdict(s), "cer": round(s.cer, 4),
                               "suggestions": [{**asdict(line), "toml": line.toml(),
                                                "note": line.note}
                                               for line in s.suggestions]}
                              for s in self.sentences]}
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def listening_line(slug: str) -> str:
    """What a face says while episode ``slug`` is being heard (the listener is slow)."""
    return f"verify {slug}: listening (Whisper-base, int8, beam 1)..."


def report_path(workspace: Workspace, slug: str) -> Path:
    return workspace.state_dir / "verify" / f"{slug}.json"


def read_episode(workspace: Workspace, slug: str) -> EpisodeRecord:
    from ..store.episodes import read_record

    folder = episode_folder(workspace, slug)  # published, or a draft not yet in the feed
    if not (folder / "episode.json").is_file():
        raise InputError(f"no episode {slug!r} in {workspace.episodes_dir}")
    try:
        record = read_record(folder / "episode.json")
    except RecordError as exc:
        raise InputError(str(exc)) from None
    if record.timeline is None:
        raise InputError(f"episode {slug!r} has no sentence timeline in its record", folder)
    return record


def decode_for_listening(path: Path) -> np.ndarray:
    """The MP3 as float32 mono at 16 kHz, what Whisper takes (ffmpeg resamples)."""
    import numpy as np

    from ..audio.decode import ffmpeg_exe

    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path),
                           "-ac", "1", "-ar", str(WHISPER_RATE), "-f", "f32le", "-"],
                          capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[-300:]
        raise InputError(f"ffmpeg could not decode the episode's audio: {message}", path)
    return np.frombuffer(done.stdout, dtype="<f4")


def episode_speller(workspace: Workspace, record: EpisodeRecord) -> Speller:
    """The lexicon the episode was spoken with: the show's and its script's entries for
    the episode's language and engine (the show's alone when the script is gone)."""
    from ..script.parse import parse_script

    script = None
    path = workspace.root / record.script
    if path.is_file():
        try:
            script = parse_script(path, workspace=workspace.root,
                                  known_hosts=tuple(workspace.profiles))
        except DuopodError:
            script = None
    return speller(lexicon_entries(workspace, script), record.language, record.engine)


def suggestions_for(misheard: tuple[str, ...], say: Speller, language: str, engine: str,
                    tally: Mapping[str, tuple[int, int]] | None = None
                    ) -> tuple[LexiconLine, ...]:
    """A line to try for each misheard term; none for a term the episode's other
    sentences mostly got across (``tally``: term -> times said, times misheard), since
    there the voice reads it well and a new reading would put those at risk."""
    lines = []
    for term in misheard:
        said, wrong = (tally or {}).get(term, (1, 1))
        current = say.say(term)
        suggested = respelled(term, language) if wrong * 2 > said else None
        if suggested is not None:  # its words as the lexicon has them ("DeepSeek": 深度求索)
            suggested = say.say(suggested)
        if suggested is not None and plain(suggested) == plain(current):
            suggested = None  # the voice already says this and it was not heard
        lines.append(LexiconLine(term, suggested, language, engine,
                                 current if current != term else None, said, wrong))
    return tuple(lines)


def term_tally(written: list[str], hearings: list[Hearing], language: str
               ) -> dict[str, tuple[int, int]]:
    """Each term of the episode: how often it is said, how often it was misheard."""
    said: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for text, hearing in zip(written, hearings, strict=True):
        said.update(terms(text, language))
        wrong.update(hearing.misheard)
    return {term: (count, wrong[term]) for term, count in said.items()}


def verify_episode(workspace: Workspace, slug: str, ear: Ear | None = None, *,
                   threshold: float = DEFAULT_THRESHOLD,
                   on_sentence: Callable[[int, int], None] | None = None,
                   write: bool = True) -> VerifyReport:
    """Hear every sentence of episode ``slug`` and compare it with the script; the report
    is also written to ``report_path`` (unless ``write`` is False). ``ear`` defaults to
    Whisper-base (VerifyUnavailable without the ``verify`` extra)."""
    if not 0 <= threshold <= 1:
        raise InputError(f"--threshold must be between 0 and 1, not {threshold}")
    record = read_episode(workspace, slug)
    assert record.timeline is not None  # read_episode refuses a record without one
    if ear is None:
        from .whisper import Listener, missing

        reason = missing()
        if reason:
            raise VerifyUnavailable(f"duopod verify needs the listener: {reason}")
        ear = Listener()
    audio = decode_for_listening(episode_folder(workspace, slug) / record.audio.file)
    say = episode_speller(workspace, record)
    spans = [(turn, s) for turn in record.timeline.turns for s in turn.sentences
             if plain(s.text)]
    began, cpu = time.perf_counter(), time.process_time()
    hearings: list[tuple[str, Hearing]] = []
    for done, (_turn, sentence) in enumerate(spans):
        first = max(0, int((sentence.start - PAD_SECONDS) * WHISPER_RATE))
        last = min(audio.size, int((sentence.end + PAD_SECONDS) * WHISPER_RATE))
        text = ear.hear(audio[first:last], record.language) if last > first else ""
        hearings.append((text, compare(sentence.text, text, record.language, say.say)))
        if on_sentence is not None:
            on_sentence(done + 1, len(spans))
    tally = term_tally([s.text for _turn, s in spans], [h for _text, h in hearings],
                       record.language)
    heard = [HeardSentence(
        turn.index + 1, turn.speaker, sentence.start, sentence.end, sentence.text,
        say.say(sentence.text), text, hearing.cer, hearing.misheard,
        suggestions_for(hearing.misheard, say, record.language, record.engine, tally),
        hearing.cer > threshold or bool(hearing.misheard))
        for (turn, sentence), (text, hearing) in zip(spans, hearings, strict=True)]
    report = VerifyReport(slug, record.language, record.engine, threshold, record.duration,
                          sum(s.end - s.start for _turn, s in spans),
                          time.perf_counter() - began, time.process_time() - cpu,
                          tuple(heard))
    if write:
        write_atomically(report_path(workspace, slug), report.to_json().encode("utf-8"))
    return report

