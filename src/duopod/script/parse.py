"""Stage 1, parse: a dialogue script file becomes a ``Script``.

The format is documented in the README ("The script format"). Every problem is an
``InputError`` naming the file and line; nothing here writes anything.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..disk.paths import file_inside
from ..errors import InputError
from ..show.fields import Fields
from ..text import (
    PinyinMemo,
    clean_line,
    fix_cjk_punctuation,
    is_valid_slug,
    not_text,
    slugify,
    strip_invisible,
)
from .lifecycle import LIFECYCLE_FIELDS, parse_lifecycle
from .markup import spoken_text, strip_emphasis
from .model import (
    EpisodeMeta,
    Lifecycle,
    OneOffSpeaker,
    Script,
    ScriptLexicon,
    Section,
    Source,
    Turn,
)

_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")
_INLINE_TURN = re.compile(r"^([^:：]{1,24}?)\s*[:：]\s*(.+)$")
_NAME_FORBIDDEN = set("，。！？；：、,.!?;:\"“”()（）[]【】<>《》")
_NAME_MAX_CHARS = 20

_FRONT_MATTER_FIELDS = {
    "title", "date", "slug", "category", "summary", "hosts", "guests", "source", "episode",
    "pacing", "written_by",
    *LIFECYCLE_FIELDS, "lexicon",
}
_PACING_FIELDS = {"gap": (0.0, 5.0), "gap_jitter": (0.0, 1.0), "section_gap": (0.0, 10.0)}
_SOURCE_FIELDS = {"title", "provider", "author", "date", "url", "file"}
MAX_EPISODE = 100_000
"""The largest episode number accepted (feeds and ID3 track numbers carry it)."""
YEARS = (1900, 2200)
"""The years a script's dates may fall in."""
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Overrides:
    """Metadata given on the command line; it wins over the front matter."""

    title: str | None = None
    date: str | None = None
    slug: str | None = None


# ---------------------------------------------------------------- reading the file


MAX_TEXT_BYTES = 16 * 1024 * 1024
"""The largest script or page read (a two-hour script is about 100 KB)."""


def read_text_file(path: Path, encoding: str | None = None) -> str:
    """Read a producer's text file, refusing empty, binary and mis-encoded files clearly,
    and anything that is not a regular file of at most MAX_TEXT_BYTES (``/dev/zero``, a
    FIFO, a 3 GB dump) before reading it: a bounded read, never an endless one."""
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            raise InputError("not a regular file (a device, pipe or socket)", path)
        with path.open("rb") as handle:
            data = handle.read(MAX_TEXT_BYTES + 1)
        if len(data) > MAX_TEXT_BYTES:
            raise InputError(f"larger than {MAX_TEXT_BYTES // (1024 * 1024)} MiB: not a "
                             "script or a page", path)
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a script file", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None
    if not data.strip():
        raise InputError("the file is empty", path, 1)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("the file is UTF-16; save it as UTF-8", path, 1)
    if b"\x00" in data[:8192] or _looks_binary(data[:8192]):
        raise InputError("this is a binary file, not a text script", path, 1)
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}", path) from None
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(f"not valid {encoding}: {exc.reason}", path, line) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        guess = _guess_encoding(data)
        if guess:
            flag = guess.split("/")[-1].lower()
            hint = f"it looks like {guess}; convert it to UTF-8 or pass --encoding {flag}"
        else:
            hint = "convert it to UTF-8 or pass --encoding"
        raise InputError(f"not UTF-8 ({hint})", path, line) from None


def _looks_binary(head: bytes) -> bool:
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return len(head) > 0 and controls / len(head) > 0.05


_CANDIDATES = (("gb18030", "GBK/GB18030"), ("big5", "Big5"), ("shift_jis", "Shift_JIS"))


def _guess_encoding(data: bytes) -> str | None:
    """The legacy encoding the bytes read best in. GB18030 decodes almost any bytes, so
    "it decodes" says little: a Big5 page read as GB18030 decodes without error into
    mojibake. Each candidate is scored by the share of its Chinese characters that are
    everyday ones (GB2312's first level, or Big5's frequently used block); a wrong reading
    scatters into rare characters."""
    best: tuple[float, str] | None = None
    for codec, label in _CANDIDATES:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
        if not han:
            continue
        score = sum(_everyday(c) for c in han) / len(han)
        if best is None or score > best[0]:
            best = (score, label)
    return best[1] if best else None


def _everyday(char: str) -> bool:
    try:
        gb = char.encode("gb2312")
        if 0xB0 <= gb[0] <= 0xD7:
            return True
    except UnicodeEncodeError:
        pass
    try:
        big5 = char.encode("big5")
    except UnicodeEncodeError:
        return False
    return 0xA4 <= big5[0] <= 0xC6


def split_lines(text: str) -> list[str]:
    """Split on CRLF, CR or LF only (str.splitlines also splits on form feeds etc.)."""
    return re.split(r"\r\n|\r|\n", text)


def refuse_non_text(lines: list[str], path: Path) -> None:
    """InputError at the first line holding what is not text (a box or replacement mark
    where a scraped page lost a character, a control character, leftover HTML): no voice
    can say it, and dropping it silently would hide a lost word. Comment lines of the
    front matter (a draft's problem list) are the producer's notes, not words."""
    bounds = _front_matter_bounds(lines)
    end = bounds[1] if bounds is not None and bounds[1] > 0 else 0
    for number, line in enumerate(lines, start=1):
        if number <= end and line.lstrip().startswith("#"):
            continue
        found = not_text(line)
        if found:
            raise InputError(f"{'; '.join(found)}: not text (a lost character or leftover "
                             "markup); write what it stood for", path, number)


# ---------------------------------------------------------------- front matter


def _front_matter_bounds(lines: list[str]) -> tuple[int, int] | None:
    """Index of the opening and closing '---' lines, or None when there is no front matter."""
    if not lines or lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return 0, i
    return 0, -1


def _parse_yaml(text: str, path: Path, first_line: int) -> yaml.MappingNode | None:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        raise InputError(f"malformed front matter: {exc.problem or exc}", path, line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed front matter: {exc}", path, first_line) from None
    if node is None:
        return None
    if not isinstance(node, yaml.MappingNode):
        raise InputError("front matter must be 'key: value' lines", path, first_line)
    return node


_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in
               ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


def _check_tag(node: yaml.Node, path: Path, first_line: int) -> None:
    """Front matter is plain data: refuse tags that ask for objects (we never construct
    any, but a producer should hear that the file is not what it seems)."""
    if node.tag not in _PLAIN_TAGS:
        raise InputError(
            f"YAML tag {node.tag!r} is not allowed in front matter",
            path, first_line + node.start_mark.line,
        )
    for child in _children(node):
        _check_tag(child, path, first_line)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class FrontMatter(Fields):
    """The front matter, or one of its blocks (``source:``, ``pacing:``): a YAML mapping
    read as its scalars' text, each error naming its line."""

    def __init__(self, node: yaml.MappingNode, path: Path, first_line: int, allowed: set[str],
                 where: str = "front matter"):
        self.first_line = first_line
        self.nodes: dict[str, yaml.Node] = {}
        values: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = first_line + key_node.start_mark.line
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or key not in allowed:
                known = ", ".join(sorted(allowed))
                raise InputError(f"unknown {where} field {key!r} (known: {known})", path, line)
            if key in self.nodes:
                raise InputError(f"{where} field {key!r} is given twice", path, line)
            self.nodes[key], lines[key], values[key] = value_node, line, _node_value(value_node)
        super().__init__(values, path, known=allowed, typed=False, kind=f"{where} field",
                         lines=lines, line=first_line)

    def date(self, key: str) -> dt.date | None:
        value = self.text(key)
        return None if value is None else parse_date(value, self.path, self.line(key), key)

    def text_list(self, key: str) -> list[str] | None:
        node = self.nodes.get(key)
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode):
            items = [part for part in re.split(r"[,，、]", str(node.value))]
        elif isinstance(node, yaml.SequenceNode) and all(
            isinstance(n, yaml.ScalarNode) for n in node.value
        ):
            items = [str(n.value) for n in node.value]
        else:
            raise InputError(f"{key!r} must be a list of names", self.path, self.line(key))
        return [clean_line(i) for i in items if clean_line(i)]

    def mapping(self, key: str) -> yaml.MappingNode | None:
        node = self.nodes.get(key)
        if node is None or _is_null(node):
            return None
        if not isinstance(node, yaml.MappingNode):
            raise InputError(f"{key!r} must be a block of 'key: value' lines",
                             self.path, self.line(key))
        return node


def _node_value(node: yaml.Node) -> Any:
    """A scalar's text (one line, cleaned; None when null or empty); other nodes as they
    are, which ``text`` refuses as not a single value."""
    if _is_null(node):
        return None
    if isinstance(node, yaml.ScalarNode):
        return " ".join(clean_line(part) for part in str(node.value).splitlines()).strip() or None
    return node


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def parse_date(value: str, path: Path | None, line: int | None, what: str = "date") -> dt.date:
    """A calendar date written YYYY-MM-DD, in a year a podcast can have. Python's
    ``fromisoformat`` alone also takes week dates (2025W503), basic forms (20251210) and
    years 0001 or 9999, which feeds and apps then show wrongly or reject."""
    text = value.strip()
    if not _ISO_DATE.fullmatch(text):
        raise InputError(f"invalid {what} {value!r} (expected YYYY-MM-DD)", path, line)
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"invalid {what} {value!r}: {_calendar_fault(text)}", path,
                         line) from None
    if not YEARS[0] <= date.year <= YEARS[1]:
        raise InputError(f"{what} {value!r} is outside the years {YEARS[0]} to {YEARS[1]}",
                         path, line)
    return date


def _calendar_fault(text: str) -> str:
    """What is wrong with a date that has the right shape: the month, or the day."""
    year, month, day = (int(part) for part in text.split("-"))
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    last = calendar.monthrange(year, month)[1]
    return f"{calendar.month_name[month]} {year} has {last} days, not {day}"


# ---------------------------------------------------------------- dialogue


@dataclass
class _OpenTurn:
    speaker: str
    line: int
    section: int | None
    parts: list[str]


def _name_like(line: str) -> bool:
    return (
        0 < len(line) <= _NAME_MAX_CHARS
        and not _NAME_FORBIDDEN.intersection(line)
        and not _HEADING.match(line)
        and any(c.isalpha() for c in line)
    )


def infer_hosts(body: list[tuple[int, str]], path: Path, known: tuple[str, ...] = ()
                ) -> list[str]:
    """Hosts are the name-like lines that stand alone, recur (or name a known voice
    profile), and are always followed by text."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for number, line in body:
        if _name_like(line):
            counts[line] += 1
            first_seen.setdefault(line, number)
        else:
            match = _INLINE_TURN.match(line)
            if match and _name_like(match.group(1).strip()):
                name = match.group(1).strip()
                counts[name] += 1
                first_seen.setdefault(name, number)
    recurring = {name for name, count in counts.items() if count >= 2 or name in known}
    followed_by_text: Counter[str] = Counter()
    standalone: Counter[str] = Counter()
    for i, (_number, line) in enumerate(body):
        if line in recurring:
            standalone[line] += 1
            following = body[i + 1][1] if i + 1 < len(body) else ""
            if following and following not in recurring and not _HEADING.match(following):
                followed_by_text[line] += 1
    hosts, unsure = [], []
    for name in recurring:
        if name in known or standalone[name] == 0 or followed_by_text[name] == standalone[name]:
            hosts.append(name)
        elif followed_by_text[name] > 0:
            unsure.append(name)
    if unsure or not hosts:
        names = ", ".join(sorted(set(hosts + unsure), key=lambda n: first_seen[n])) or "none found"
        raise InputError(
            f"cannot tell who the hosts are (candidates: {names}); list them in the front "
            "matter, e.g. 'hosts: [雷总, 董小姐]'",
            path, body[0][0] if body else 1,
        )
    return sorted(hosts, key=first_seen.__getitem__)


def _check_unknown_speakers(body: list[tuple[int, str]], hosts: list[str], path: Path,
                            known: tuple[str, ...]) -> None:
    """A name-like line that recurs and always leads text, but is not a host, is a typo or a
    forgotten host: refuse it rather than read it as dialogue."""
    try:
        candidates = infer_hosts(body, path, known)
    except InputError:
        return
    for name in candidates:
        if name not in hosts:
            line = next(n for n, text in body if text == name or text.startswith(name))
            close = resembled_host(name, hosts)
            hint = f"; did you mean {close}?" if close else ""
            raise InputError(
                f"speaker {name!r} is not in hosts ({', '.join(hosts)}){hint}", path, line
            )


def _fold(name: str) -> str:
    """A name as compared for look-alikes: full-width folded to half-width (NFKC), no
    spaces, no case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions of one character."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _allowed_distance(host: str) -> int:
    """Typos tolerated before a name stops resembling ``host``: one for short names (two
    characters of 雷总 are half of it), two from five characters on."""
    return 1 if len(host) <= 4 else 2


def resembled_host(name: str, hosts: list[str] | tuple[str, ...]) -> str | None:
    """The host ``name`` is a near miss of (a typo, a space inside, another width or case),
    or None when it resembles none or is a host exactly."""
    if name in hosts:
        return None
    folded = _fold(name)
    near = [(edit_distance(folded, _fold(host)), host) for host in hosts]
    near = [(d, host) for d, host in near
            if d <= _allowed_distance(host) and d < len(_fold(host))]
    return min(near)[1] if near else None


def _near_host_line(line: str, hosts: list[str]) -> tuple[str, str] | None:
    """(what was written, the host it resembles) when ``line`` looks like a name line (or
    the name of an inline ``Name: text``, or a name with a stray colon) but names no host:
    read as dialogue it would put a typo in another host's mouth."""
    bare = line.rstrip(":：").rstrip()
    if bare != line:  # a stray colon with nothing after it
        candidate = bare
    else:
        inline = _INLINE_TURN.match(line)
        candidate = inline.group(1).strip() if inline else line
    if not _name_like_loose(candidate):
        return None
    host = bare if bare in hosts else resembled_host(candidate, hosts)
    return (line if bare != line else candidate, host) if host else None


def _name_like_loose(text: str) -> bool:
    """Name-like, counting a space inside (``董 小姐``) as part of a name."""
    return _name_like(text) and len(text.split()) <= 3


def parse_dialogue(
    body: list[tuple[int, str]], hosts: list[str], path: Path
) -> tuple[list[Turn], list[Section]]:
    turns: list[Turn] = []
    sections: list[Section] = []
    current: _OpenTurn | None = None
    host_set = set(hosts)

    def close() -> None:
        nonlocal current
        if current is None:
            return
        if not current.parts:
            raise InputError(f"host line {current.speaker!r} has no text after it",
                             path, current.line)
        text, directions = spoken_text(fix_cjk_punctuation(_join_parts(current.parts)))
        if not text:
            raise InputError(f"host line {current.speaker!r} has only stage directions "
                             "after it, no words", path, current.line)
        turns.append(Turn(len(turns), current.speaker, text, current.line, current.section,
                          directions))
        current = None

    for number, line in body:
        section_index = len(sections) - 1 if sections else None
        heading = _HEADING.match(line)
        if heading:
            close()
            sections.append(Section(strip_emphasis(clean_line(heading.group(1))), number))
            continue
        if line in host_set:
            close()
            current = _OpenTurn(line, number, section_index, [])
            continue
        inline = _INLINE_TURN.match(line)
        if inline and inline.group(1).strip() in host_set:
            close()
            current = _OpenTurn(inline.group(1).strip(), number, section_index,
                                [inline.group(2).strip()])
            continue
        near = _near_host_line(line, hosts)
        if near is not None:
            written, host = near
            raise InputError(f"{written!r} looks like a host line but is not a host "
                             f"({', '.join(hosts)}); did you mean {host}? (a line of dialogue that "
                             "holds only a name needs its punctuation)", path, number)
        if current is None and not spoken_text(line)[0]:
            continue  # a stage direction outside any turn, e.g. [music] before the first
        if current is None:
            where = "the first host line" if not turns else "a host line (after a heading)"
            raise InputError(
                f"text before {where}; start each turn with a line holding only the "
                f"host's name ({', '.join(hosts)})",
                path, number,
            )
        current.parts.append(line)
    close()
    if not turns:
        raise InputError("no dialogue: no host line followed by text", path,
                         body[-1][0] if body else 1)
    return turns, sections


def _check_inferred_against_profiles(body: list[tuple[int, str]], hosts: list[str], path: Path,
                                     known: tuple[str, ...]) -> None:
    """An inferred host that is a near miss of a voice profile's speaker (董小姐姐 used
    throughout for 董小姐) is a typo, not a new host."""
    for host in hosts:
        close = resembled_host(host, known) if host not in known else None
        if close and close not in hosts:
            line = next(n for n, text in body if text == host or text.startswith(host))
            raise InputError(f"host {host!r} has no voice profile; did you mean {close}?",
                             path, line)


def _check_guests(hosts: list[str], guests: list[str], path: Path,
                  fields: FrontMatter | None) -> None:
    """A guest is not also a host."""
    for guest in guests:
        if guest in hosts:
            raise InputError(f"{guest!r} is listed in both hosts and guests", path,
                             (fields.line("guests") if fields else None) or 1)


def _check_every_host_speaks(hosts: list[str], turns: list[Turn], path: Path, line: int,
                             field: str = "hosts") -> None:
    """A listed host (or guest) with no words is a script that lost their lines (often to
    a typo in the name lines): say so rather than publish without them."""
    spoken = {t.speaker for t in turns}
    for host in hosts:
        if host not in spoken:
            raise InputError(f"{field[:-1]} {host!r} is listed in {field} but has no words "
                             "in the script", path, line)


def _join_parts(parts: list[str]) -> str:
    """Join a turn's lines: Chinese lines join directly, Latin ones with a space."""
    joined = parts[0]
    for part in parts[1:]:
        if joined and part and (joined[-1].isascii() or part[0].isascii()):
            joined += " " + part
        else:
            joined += part
    return joined


# ---------------------------------------------------------------- the whole file


def parse_script(
    path: Path | str,
    *,
    encoding: str | None = None,
    overrides: Overrides | None = None,
    workspace: Path | None = None,
    known_hosts: tuple[str, ...] = (),
    pinyin_memo: Path | PinyinMemo | None = None,
    text: str | None = None,
) -> Script:
    """Parse and validate a dialogue script; raise ``InputError`` on any problem.

    ``text``: the script's contents as an editor holds them (not yet saved to ``path``);
    ``path`` still names the file in messages and anchors its relative paths.

    ``known_hosts`` (the speakers of the workspace's voice profiles) helps tell host names
    from dialogue when the front matter has no ``hosts:`` list. ``pinyin_memo`` remembers
    the titles' romanisation for the slug (``text.romanised``).
    """
    path = Path(path)
    overrides = overrides or Overrides()
    workspace = (workspace or path.resolve().parent).resolve()
    if text is None:
        text = read_text_file(path, encoding)
    elif not text.strip():
        raise InputError("the file is empty", path, 1)
    refuse_non_text(split_lines(text), path)
    lines = split_lines(strip_invisible(text))

    bounds = _front_matter_bounds(lines)
    fields: FrontMatter | None = None
    body_start = 0
    if bounds is not None:
        _open, close = bounds
        if close < 0:
            raise InputError("front matter opened with '---' is never closed", path, 1)
        yaml_text = "\n".join(lines[1:close])
        node = _parse_yaml(yaml_text, path, first_line=2)
        if node is not None:
            _check_tag(node, path, 2)
            fields = FrontMatter(node, path, 2, _FRONT_MATTER_FIELDS)
        body_start = close + 1

    body = [(i + 1, clean_line(raw)) for i, raw in enumerate(lines) if i >= body_start]
    # Markdown emphasis is markup, never words: a bold name line (**雷总**) names its host
    body = [(n, strip_emphasis(line, unwrap_code=False)) for n, line in body if line]
    # front-matter problems come first: they sit higher in the file
    meta = _episode_meta(fields, overrides, path, workspace, pinyin_memo)
    if not body:
        raise InputError("no dialogue after the front matter", path,
                         min(body_start + 1, len(lines)))

    declared_hosts = fields.text_list("hosts") if fields else None
    guests = list(dict.fromkeys(fields.text_list("guests") or ())) if fields else []
    if declared_hosts:
        hosts = list(dict.fromkeys(declared_hosts))
        _check_guests(hosts, guests, path, fields)
        _check_unknown_speakers(body, hosts + guests, path, known_hosts)
    else:
        hosts = [h for h in infer_hosts(body, path, (*known_hosts, *guests)) if h not in guests]
        _check_inferred_against_profiles(body, hosts, path, known_hosts)
    turns, sections = parse_dialogue(body, hosts + guests, path)
    if declared_hosts:
        _check_every_host_speaks(hosts, turns, path, (fields.line("hosts") if fields else 1) or 1)
    else:
        hosts = [h for h in hosts if h in {t.speaker for t in turns}]
    if guests:
        _check_every_host_speaks(guests, turns, path,
                                 (fields.line("guests") if fields else 1) or 1, "guests")
    meta = replace(meta, hosts=tuple(hosts), guests=tuple(guests))
    one_offs = () if declared_hosts else one_off_speakers(body, turns, hosts + guests)
    return Script(path=path, meta=meta, turns=tuple(turns), sections=tuple(sections),
                  one_off_speakers=one_offs)


def one_off_speakers(body: list[tuple[int, str]], turns: list[Turn], hosts: list[str]
                     ) -> tuple[OneOffSpeaker, ...]:
    """Name-like lines that stand alone once, inside a turn (text before and after), and
    name no host: hosts were inferred from recurring names, so a guest who speaks once
    is not told from dialogue, and the previous host would read the guest's words."""
    counts = Counter(line for _number, line in body)
    host_set = set(hosts)
    found: list[OneOffSpeaker] = []
    for i in range(1, len(body) - 1):
        number, line = body[i]
        before, after = body[i - 1][1], body[i + 1][1]
        if (counts[line] == 1 and line not in host_set and _name_like(line)
                and not _INLINE_TURN.match(line)
                and _is_text(before, host_set) and _is_text(after, host_set)):
            owner = next((t.speaker for t in reversed(turns) if t.line < number), "")
            if owner:
                found.append(OneOffSpeaker(line, number, owner))
    return tuple(found)


def _is_text(line: str, hosts: set[str]) -> bool:
    """A line of dialogue: not a host line, not a heading."""
    inline = _INLINE_TURN.match(line)
    return (line not in hosts and not _HEADING.match(line)
            and not (inline and inline.group(1).strip() in hosts))


def refuse_one_off_speakers(script: Script) -> None:
    """A build's refusal of a one-off speaker (``check`` only warns): InputError at its
    line. Called by the build's preflight after parsing."""
    if script.one_off_speakers:
        first = script.one_off_speakers[0]
        raise InputError(first.message(), script.path, first.line)


def _episode_meta(
    fields: FrontMatter | None, overrides: Overrides, path: Path, workspace: Path,
    pinyin_memo: Path | PinyinMemo | None = None
) -> EpisodeMeta:
    title = _chinese_punctuation(overrides.title or (fields.text("title") if fields else None))
    if not title:
        raise InputError("missing required field 'title' (front matter or --title)", path, 1)
    date: dt.date | None = (parse_date(overrides.date, path, None, "--date") if overrides.date
                             else fields.date("date") if fields else None)
    if date is None:
        raise InputError("missing required field 'date' (front matter or --date)", path, 1)
    slug = overrides.slug or (fields.text("slug") if fields else None)
    slug_given = slug is not None
    if slug is not None:
        if not is_valid_slug(slug):
            line = fields.line("slug") if fields and not overrides.slug else None
            raise InputError(
                f"invalid slug {slug!r}: use lowercase ASCII letters, digits and '-'", path, line
            )
    else:
        slug = slugify(title, date.isoformat(), pinyin_memo)
    source = None
    if fields and fields.mapping("source") is not None:
        source = _parse_source(fields, path, workspace)
    return EpisodeMeta(
        title=title,
        date=date,
        slug=slug,
        category=fields.text("category") if fields else None,
        summary=_chinese_punctuation(fields.text("summary") if fields else None),
        written_by=fields.text("written_by") if fields else None,
        source=source,
        episode_number=fields.whole("episode", 1, MAX_EPISODE) if fields else None,
        slug_given=slug_given,
        pacing=_parse_pacing(fields, path) if fields else {},
        lexicon=_parse_lexicon(fields) if fields else None,
        lifecycle=parse_lifecycle(fields, path, workspace) if fields else Lifecycle(),
    )


def _chinese_punctuation(text: str | None) -> str | None:
    return fix_cjk_punctuation(text) if text else text


def _parse_lexicon(fields: FrontMatter) -> ScriptLexicon | None:
    """The script's pronunciation entries as plain tables, each key with its line."""
    node = fields.mapping("lexicon")
    if node is None:
        return None
    lines: dict[tuple[str, ...], int] = {}

    def plain(value: yaml.Node, scope: tuple[str, ...]) -> Any:
        if isinstance(value, yaml.MappingNode):
            table = {}
            for key, child in value.value:
                name = str(key.value)
                lines[(*scope, name)] = fields.first_line + key.start_mark.line
                table[name] = plain(child, (*scope, name))
            return table
        if isinstance(value, yaml.SequenceNode):
            return [plain(child, scope) for child in value.value]
        return None if _is_null(value) else str(value.value)

    return ScriptLexicon(plain(node, ()), lines)


def _parse_pacing(fields: FrontMatter, path: Path) -> dict[str, float]:
    node = fields.mapping("pacing")
    if node is None:
        return {}
    pacing = FrontMatter(node, path, fields.first_line, set(_PACING_FIELDS), where="pacing")
    values = {key: pacing.number(key, *bounds) for key, bounds in _PACING_FIELDS.items()}
    return {key: value for key, value in values.items() if value is not None}


def _parse_source(fields: FrontMatter, path: Path, workspace: Path) -> Source:
    node = fields.mapping("source")
    assert node is not None
    src = FrontMatter(node, path, fields.first_line, _SOURCE_FIELDS, where="source")
    url = src.text("url")
    if url and not re.match(r"^https?://[^\s<>\"]+$", url):
        raise InputError(f"source url must be an http(s) address, not {url!r}",
                         path, src.line("url"))
    file_path, text = None, None
    file_value = src.text("file")
    if file_value:
        file_path = file_inside(path.parent, file_value, workspace, what="source file",
                                path=path, line=src.line("file"))
        text = read_text_file(file_path)
    return Source(
        title=src.text("title"),
        provider=src.text("provider"),
        author=src.text("author"),
        date=src.date("date"),
        url=url,
        file=file_path,
        text=text,
    )
