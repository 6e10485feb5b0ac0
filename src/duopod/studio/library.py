"""The show as the studio shows it: its scripts with their states, a script checked as
typed (the same parser and checks as ``duopod check``), and the writes a producer asks
for, each atomic and refused when the file changed on disk since it was opened.

Every answer is read from the show's folder as it is now (the show itself through the
studio's ``ShowKeeper``, which reads it again when a file of it changed). Checking as the
producer types writes nothing, not even the show's cache; hearing a turn keeps its audio
in the speech cache, so the next build does not render it again.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..build.options import BuildOptions
from ..build.preflight import load_script
from ..disk.owned import Changed
from ..errors import DuopodError, InputError
from ..script.exchange import meetings
from ..script.model import Script
from ..show.workspace import Workspace
from ..speech.lexicon import (
    Addition,
    add_lexicon_entries,
    hit_counts,
    language_of,
    lexicon_entries,
)
from ..speech.suggest import lexicon_suggestions
from ..store.episodes import existing_record
from ..text import split_sentences

SCRIPTS = "scripts"
LEXICON = "lexicon.toml"
SUFFIXES = (".md", ".txt")
"""What a script is named: ``duopod build`` takes both (the format is the same)."""
ARTICLES = "sources"
"""The folder of scripts/ where ``duopod import`` and ``draft`` keep the articles a script
was written from (``.txt`` too): never listed as scripts."""
MAX_NAME = 1024
"""The longest script name (a path inside scripts/) the studio reads; each part of it is
also held to the file system's 255 bytes."""


Conflict = Changed
"""The file changed on disk since the editor opened it: nothing was written (409)."""


@dataclass(frozen=True)
class Problem:
    line: int | None
    message: str
    level: str = "error"

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message, "level": self.level}


@dataclass(frozen=True)
class EpisodeRow:
    name: str
    """The script's path inside scripts/ (how the studio's addresses name it)."""
    title: str
    date: str
    state: str
    """draft, scheduled, published, unpublished, not built, or failed (does not parse)."""
    duration: float | None = None
    engine: str | None = None
    slug: str | None = None
    problem: str | None = None
    openable: bool = True
    """False for a name the studio refuses to read (a link out of the show)."""


@dataclass
class Checked:
    """A script's text checked: its problems at their lines, and its outline."""

    problems: list[Problem] = field(default_factory=list)
    outline: dict[str, object] | None = None
    script: Script | None = None


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def script_path(workspace: Workspace, name: str) -> Path:
    """The script ``name`` (a path inside scripts/) names, refusing anything that would
    leave scripts/: dot segments, dot files, absolute paths, links out, other suffixes,
    names longer than a file system holds (InputError: the studio answers 4xx)."""
    shown = name if len(name) <= 80 else name[:77] + "..."
    parts = name.replace("\\", "/").split("/")
    if (not name or name.startswith("/") or any(p in ("", ".", "..") or p.startswith(".")
                                                for p in parts)
            or not name.endswith(SUFFIXES) or "\x00" in name):
        raise InputError(f"not a script of this show: {shown!r}")
    if len(name) > MAX_NAME or any(len(p.encode("utf-8")) > 255 for p in parts):
        raise InputError(f"not a script of this show (the name is too long): {shown!r}")
    base = (workspace.root / SCRIPTS).resolve()
    target = (base / Path(*parts)).resolve()
    if not target.is_relative_to(base):
        raise InputError(f"not a script of this show (it lies outside scripts/): {shown!r}")
    return target


def script_names(workspace: Workspace) -> list[str]:
    """Every script in scripts/ a build takes (``.md`` and ``.txt``), newest name first;
    dot files and the articles' ``sources/`` folders left out."""
    base = workspace.root / SCRIPTS
    if not base.is_dir():
        return []
    names = []
    for path in base.rglob("*"):
        parts = path.relative_to(base).parts
        if (path.suffix in SUFFIXES and not any(p.startswith(".") for p in parts)
                and ARTICLES not in parts[:-1] and (path.is_file() or path.is_symlink())):
            names.append(path.relative_to(base).as_posix())
    return sorted(names, reverse=True)


def episode_rows(workspace: Workspace) -> list[EpisodeRow]:
    return [episode_row(workspace, name) for name in script_names(workspace)]


def episode_row(workspace: Workspace, name: str) -> EpisodeRow:
    try:
        path = script_path(workspace, name)
    except InputError as exc:  # a link out of the show: listed, never read
        return EpisodeRow(name, name, "", "failed", problem=exc.message, openable=False)
    try:
        script = load_script(workspace, path, BuildOptions(), remember=False)
    except DuopodError as exc:
        return EpisodeRow(name, path.stem, "", "failed", problem=str(exc))
    meta = script.meta
    record = existing_record(workspace, meta.slug)
    state = episode_state(workspace, script)
    return EpisodeRow(name, meta.title, meta.date.isoformat(), state,
                      record.duration if record else None, record.engine if record else None,
                      meta.slug)


def episode_state(workspace: Workspace, script: Script) -> str:
    slug = script.meta.slug
    if (workspace.episodes_dir / slug).is_dir():
        return "published"
    if (workspace.pending_dir / slug).is_dir():
        return "draft" if script.meta.lifecycle.status == "draft" else "scheduled"
    if (workspace.unpublished_dir / slug).is_dir():
        return "unpublished"
    return "not built"


# ---------------------------------------------------------------- checking as typed


def check_text(workspace: Workspace, path: Path, text: str) -> Checked:
    """``text`` as the script at ``path`` would be checked by ``duopod check``: the first
    error at its line, or the outline and the warnings."""
    try:
        script = load_script(workspace, path, BuildOptions(), text=text, remember=False)
    except InputError as exc:
        return Checked([Problem(exc.line, exc.message)])
    except DuopodError as exc:
        return Checked([Problem(None, str(exc))])
    problems = [Problem(s.line, f"{s.message()} (a build refuses it)", "warning")
                for s in script.one_off_speakers]
    language = language_of(workspace, script)
    entries = lexicon_entries(workspace, script)
    sentences = [s for turn in script.turns for s in split_sentences(turn.text)]
    problems += [Problem(None, suggestion.message(language), "lexicon?")
                 for suggestion in lexicon_suggestions(entries, language, sentences)]
    return Checked(problems, outline(workspace, script), script)


def outline(workspace: Workspace, script: Script) -> dict[str, object]:
    language = language_of(workspace, script)
    entries = lexicon_entries(workspace, script)
    sentences = [s for turn in script.turns for s in split_sentences(turn.text)]
    chars = script.characters_by_host()
    mix = workspace.show.mix
    meeting = {m.index: m.kind.value for m in meetings(
        script, backchannels=mix.backchannels, interruptions=mix.interruptions)}
    return {
        "title": script.meta.title,
        "slug": script.meta.slug,
        "status": script.meta.lifecycle.status,
        "hosts": [{"name": h, "characters": chars.get(h, 0), "guest": h not in script.hosts}
                  for h in script.speakers],
        "sections": [{"title": s.title, "line": s.line} for s in script.sections],
        "turns": [{"index": t.index, "speaker": t.speaker, "line": t.line,
                   "sentences": split_sentences(t.text), "meets": meeting[t.index]}
                  for t in script.turns],
        "lexicon": [{"written": e.written, "spoken": e.spoken, "count": n,
                     "where": e.where.removeprefix(f"{workspace.root}/")}
                    for e, n in hit_counts(entries, language, sentences)],
    }


# ---------------------------------------------------------------- writing


def read_script(workspace: Workspace, path: Path) -> tuple[str, str]:
    """The script's text and its version (the sha256 of its bytes: what a save names)."""
    owned = workspace.files.read(path)
    if owned.data is None:
        raise FileNotFoundError(path)
    return owned.text, owned.version


def save_script(workspace: Workspace, path: Path, text: str, opened: str) -> str:
    """Write ``text`` over the script if it is still the version ``opened``; else
    ``Conflict`` (409) and nothing is written. Returns the new version."""
    return workspace.files.write(path, text.encode("utf-8"), replaces=opened)


def difference(theirs: str, mine: str) -> list[dict[str, str]]:
    """``mine`` against ``theirs`` as a unified diff (three lines of context), each line
    with its kind: " " both, "-" only theirs, "+" only mine, "@" where a hunk starts."""
    lines = []
    for line in difflib.unified_diff(theirs.split("\n"), mine.split("\n"), "on disk",
                                     "yours", n=3, lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        lines.append({"kind": line[:1] or " ", "text": line[1:]})
    return lines


def set_front_matter(text: str, key: str, value: str | None) -> str:
    """``text`` with the front matter's ``key:`` line set to ``value`` (None: removed), as
    a producer would edit it by hand; a script without front matter is refused."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise InputError("the script has no front matter to change")
    try:
        close = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise InputError("front matter opened with '---' is never closed", None, 1) from None
    pattern = re.compile(rf"{re.escape(key)}\s*:")
    kept = [i for i in range(1, close) if pattern.match(lines[i])]
    new = None if value is None else f"{key}: {value}"
    if kept:
        if new is None:
            del lines[kept[0]]
        else:
            lines[kept[0]] = new
    elif new is not None:
        lines.insert(close, new)
    return "\n".join(lines)


def add_script_lexicon_entry(text: str, written: str, spoken: str) -> str:
    """``text`` with ``written: spoken`` in its front matter's ``lexicon:`` (every
    language, every engine), added as a producer would type it; other lines untouched."""
    if not written.strip() or not spoken.strip() or "\n" in written + spoken:
        raise InputError("a lexicon entry needs a written and a spoken form, one line each")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise InputError("the script has no front matter to hold a lexicon entry")
    close = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if close is None:
        raise InputError("front matter opened with '---' is never closed", None, 1)
    entry = f"  {_yaml_string(written)}: {_yaml_string(spoken)}"
    table = next((i for i in range(1, close) if re.match(r"lexicon\s*:\s*(#.*)?$", lines[i])),
                 None)
    if table is None:
        lines[close:close] = ["lexicon:", entry]
    else:
        lines.insert(table + 1, entry)
    return "\n".join(lines)


def _yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (so 'H20', '671B' or 'yes' stay strings)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def add_lexicon_entry(workspace: Workspace, written: str, spoken: str, language: str) -> Path:
    """Add ``written = spoken`` to the show's lexicon under ``[language]``, keeping every
    other line as the producer wrote it (``speech.lexicon.add_lexicon_entries``, under the
    file's lock: concurrent saves all land); an entry the table has already is refused."""
    path = workspace.show.lexicon or workspace.root / LEXICON
    edit = add_lexicon_entries(workspace.files, path, [Addition((language,), written, spoken)],
                               new_table_note="added in the studio")
    if not edit.added:
        raise InputError(edit.kept[0][1], path)
    return path
