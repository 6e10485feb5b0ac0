"""Starting a show and its episodes: ``duopod init`` writes a working show folder
(show.toml with comments, a voice profile per host, a first script, cover art and jingles),
``duopod new`` a dated script skeleton with the show's hosts.

Neither ever overwrites anything: ``init`` wants an empty (or new) folder, ``new`` a script
name that is free; both write through the producer's door (``disk.owned``). Everything
written comes from this package, so a show starts offline.

When they go out: a new show takes this machine's time zone (a producer's "today" is their
own), and a script made without ``--date`` is dated now, day *and* time of day (``time:``
in its front matter), so the first build publishes it whatever the hour; the show's
``publish_time`` (06:00 unless set) is for episodes dated ahead, which ``--date`` makes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..disk.owned import FileExists
from ..errors import InputError
from ..show.placeholders import EXAMPLE_BASE_URL, EXAMPLE_EMAIL, PLACEHOLDER_SUMMARIES
from ..show.workspace import SHOW_FILE, Workspace, show_files
from ..speech.casting import GENDERS, Cast, cast_hosts
from ..speech.lexicon import LEXICON_FILE
from ..text import slugify
from .lexicon import starter_lexicon

LANGUAGES = ("zh-CN", "en-US")


_DEFAULT_HOSTS = {"zh-CN": ("雷总", "董小姐"), "en-US": ("Alex", "Sam")}


@dataclass(frozen=True)
class NewShow:
    folder: Path
    files: tuple[Path, ...]


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def machine_timezone() -> str:
    """This machine's time zone by its IANA name: ``TZ`` when it names one, else where
    ``/etc/localtime`` links to, else ``/etc/timezone``; UTC when none of them says."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    with contextlib.suppress(OSError):
        link = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in link:
            candidates.append(link.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError, UnicodeDecodeError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if name and not name.startswith("/"):
            try:
                ZoneInfo(name)
            except (ValueError, ZoneInfoNotFoundError):
                continue
            return name
    return "UTC"


def now_in(zone: str) -> dt.datetime:
    """The wall clock in ``zone``, to the minute (what a script made now is dated)."""
    return dt.datetime.now(ZoneInfo(zone)).replace(second=0, microsecond=0)


def _show_toml(title: str, language: str, author: str, email: str, base_url: str,
               timezone: str) -> str:
    zh = language.startswith("zh")
    description = f"{title}：两位主持人聊一条新闻。" if zh else f"{title}: two hosts, one story."
    return f'''# {SHOW_FILE}: what podcast apps and the episode pages say about the show.
# Every field is checked when duopod starts; see the README ("Configuration").
title = {_toml_string(title)}
author = {_toml_string(author)}
email = {_toml_string(email)}            # the feed's owner address (Apple asks for one)
language = "{language}"
base_url = {_toml_string(base_url)}      # where episodes/ will be hosted
description = {_toml_string(description)}
category = "News"                  # an Apple Podcasts category ...
subcategory = "Tech News"          # ... and one of its subcategories
cover = "art/cover.png"            # square PNG/JPEG, 1400-3000 px: replace with your art
explicit = false
type = "episodic"                  # or "serial"
timezone = {_toml_string(timezone)}  # this machine's: dates in scripts are days here
publish_time = "06:00"             # when an episode dated ahead (duopod new --date) goes out

[audio]
gap = 0.45            # with [mix] timing = "even": seconds between turns (+- gap_jitter)
gap_jitter = 0.12
section_gap = 1.2     # seconds at a section change
loudness_lufs = -16.0
true_peak_dbtp = -1.0
bitrate_kbps = 128
channels = 1          # 2 places the hosts slightly left and right

[mix]                 # how the hosts' turns meet: docs/mixing.md
timing = "conversation"     # each gap from the text; "even": [audio] gap everywhere
gap = 0.25                  # an ordinary speaker change, in seconds
answer_gap = 0.12           # after a question
quick_gap = 0.1             # inside an exchange of short turns
long_gap = 0.5              # after a long statement
interruptions = true        # a turn ending in "——" or "……" is cut off by the next one
backchannels = true         # a short "嗯。" between two turns of the other host lies under them

[music]
intro = "music/intro.wav"   # replace with your own jingles (WAV or MP3)
outro = "music/outro.wav"
level_db = -4.0             # music loudness relative to the voices
fade = 1.5
overlap = 1.0
# bed = "music/bed.wav"     # optional: a loop under the voices, ducked while they talk
'''


def _profile(host: str, voice: Cast) -> str:
    return f'''# {host}: a {voice.gender} voice, cast by duopod init (`duopod voices --engine NAME`
# lists each engine's; `duopod say "..." --voice NAME --engine NAME` plays one).
speaker = {_toml_string(host)}

[edge]                      # Microsoft's neural voices (online)
voice = "{voice.edge}"
rate = "+0%"
pitch = "+0Hz"
volume = "+0%"

[kokoro]                    # neural, offline (pip install 'duopod[neural]')
voice = "{voice.kokoro}"
speed = 1.0

[espeak]                    # offline, always available
voice = "{voice.espeak}"
variant = "{voice.variant}"
rate = 165
pitch = {voice.espeak_pitch}

# [openai]                  # any OpenAI-compatible server: only with --engine openai
# voice = "{voice.openai}"
# model = "tts-1"
'''


def _profile_name(host: str, taken: set[str]) -> str:
    base = slugify(host) if host else "host"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def script_skeleton(title: str, date: dt.date, hosts: tuple[str, ...], language: str,
                    time: dt.time | None = None) -> str:
    """A script in the two-host format, with placeholder turns for each host; ``time``:
    the time of day it goes out on ``date`` (None: the show's ``publish_time``)."""
    zh = language.startswith("zh")
    when = [f'time: "{time.strftime("%H:%M")}"'] if time is not None else []
    lines = ["---", f"title: {_toml_string(title)}", f"date: {date.isoformat()}", *when,
             "category: Technology",
             f"summary: {_toml_string(PLACEHOLDER_SUMMARIES['zh' if zh else 'en'])}",
             f"hosts: [{', '.join(_toml_string(h) for h in hosts)}]", "---"]
    first, second = hosts[0], hosts[1] if len(hosts) > 1 else hosts[0]
    if zh:
        body = [first, f"大家好，欢迎收听。我是{first}。",
                second, f"我是{second}。今天我们聊：{title}。",
                "", "## 背景", first, "先说说发生了什么。", second, "这件事为什么重要？",
                "", "## 影响", first, "对普通人来说，影响在这里。", second,
                "好，今天就聊到这里，谢谢收听！"]
    else:
        body = [first, f"Hello and welcome. I'm {first}.", second,
                f"And I'm {second}. Today: {title}.", "", "## What happened", first,
                "First, the facts.", second, "And why does it matter?", "", "## What it means",
                first, "Here is what changes for listeners.", second,
                "That's all for today. Thanks for listening!"]
    return "\n".join([*lines, *body]) + "\n"


def create_show(folder: Path, *, title: str, language: str = "zh-CN",
                hosts: tuple[str, ...] = (), author: str = "", email: str = "",
                base_url: str = EXAMPLE_BASE_URL, timezone: str | None = None,
                today: dt.date | None = None) -> NewShow:
    """Write a working show into ``folder`` (new or empty); returns what was written. Its
    time zone is ``timezone`` (default: this machine's); its first script is dated now
    (``today``: that day instead, out at the show's ``publish_time``)."""
    from .cover import cover_png
    from .jingle import write_jingles

    if language not in LANGUAGES:
        raise InputError(f"--language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if not title.strip():
        raise InputError("--title must not be empty")
    named = [_host_and_gender(h) for h in hosts if h.strip()]
    hosts = tuple(name for name, _gender in named) or _DEFAULT_HOSTS[language]
    genders = [gender or GENDERS[i % 2] for i, (_name, gender)
               in enumerate(named or [(h, None) for h in hosts])]
    if len(set(hosts)) != len(hosts):
        raise InputError(f"--hosts names a host twice: {', '.join(hosts)}")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder} is not empty: duopod init writes a new show only into a "
                         "new or empty folder, and never overwrites anything")
    zone = timezone or machine_timezone()
    folder.mkdir(parents=True, exist_ok=True)
    files = show_files(folder)
    written: list[Path] = []

    def write(relative: str, text: str) -> None:
        path = folder / relative
        files.create(path, text.encode("utf-8"))  # never over a file
        written.append(path)

    write(SHOW_FILE, _show_toml(title.strip(), language, author or title.strip(),
                                email or EXAMPLE_EMAIL, base_url, zone))
    taken: set[str] = set()
    for host, voice in zip(hosts, cast_hosts(language, genders), strict=True):
        write(f"voices/{_profile_name(host, taken)}.toml", _profile(host, voice))
    write(LEXICON_FILE, starter_lexicon(language, hosts[0]))
    now = now_in(zone)
    day, time = (today, None) if today is not None else (now.date(), now.time())
    first_title = "第一期：你好，世界" if language.startswith("zh") else "Episode one: hello"
    write(f"scripts/{day.isoformat()}-welcome.md",
          script_skeleton(first_title, day, hosts, language, time))
    (folder / "episodes").mkdir()
    cover = folder / "art" / "cover.png"
    files.create(cover, cover_png())
    written += [cover, *write_jingles(folder / "music", files.create)]
    return NewShow(folder, tuple(written))


def _host_and_gender(text: str) -> tuple[str, str | None]:
    """``雷总``, or ``雷总:m`` / ``Sam:female``: a host's name and the gender of the voice
    to cast for them (None: alternate, the first male)."""
    name, _colon, said = text.strip().partition(":")
    if not _colon:
        name, _colon, said = text.strip().partition("：")
    said = said.strip().lower()
    if not said:
        return name.strip(), None
    for gender in GENDERS:
        if said in (gender, gender[0]):
            return name.strip(), gender
    raise InputError(f"--hosts: {text.strip()!r}: the voice after the colon must be m, f, "
                     "male or female")


def new_script(workspace: Workspace, title: str, *, date: dt.date | None = None,
               slug: str | None = None) -> Path:
    """A dated script skeleton in the show's scripts/ with the show's hosts: dated
    ``date`` (it goes out at the show's ``publish_time``), else now (due at once)."""
    if not title.strip():
        raise InputError("the title must not be empty")
    hosts = _latest_hosts(workspace) or tuple(workspace.profiles) or _DEFAULT_HOSTS.get(
        workspace.show.language, ("Alex", "Sam"))
    now = now_in(workspace.show.timezone)
    day, time = (date, None) if date is not None else (now.date(), now.time())
    name = slug or slugify(title.strip(), day.isoformat())
    path = workspace.root / "scripts" / f"{name}.md"
    text = script_skeleton(title.strip(), day, hosts, workspace.show.language, time)
    try:
        workspace.files.create(path, text.encode("utf-8"))
    except FileExists:
        raise InputError(f"{path} already exists; choose another title or --slug") from None
    return path


def _latest_hosts(workspace: Workspace) -> tuple[str, ...]:
    """The hosts of the show's newest script in the show's own language (in their order),
    when it reads cleanly: a bilingual folder's English episode must not hand its hosts to
    a skeleton written in the show's Chinese."""
    from ..script.parse import parse_script

    for path in sorted((workspace.root / "scripts").glob("*.md"), reverse=True):
        try:
            script = parse_script(path, workspace=workspace.root,
                                  known_hosts=tuple(workspace.profiles))
        except InputError:
            continue
        language = script.meta.lifecycle.language or workspace.show.language
        if language != workspace.show.language:
            continue
        if script.hosts and all(h in workspace.profiles for h in script.hosts):
            return script.hosts
    return ()
