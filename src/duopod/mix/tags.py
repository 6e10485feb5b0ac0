"""ID3v2 tags for the episode MP3: what players show, and chapters they can jump to (and
the same chapters in an Ogg rendition's comments)."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from mutagen import MutagenError

from ..errors import DuopodError
from ..script.model import EpisodeMeta
from ..show.workspace import ShowConfig
from .timeline import Timeline

# mutagen's ID3 frames carry no type hints; they are reached through this one name, typed
# Any on purpose, so the rest of the module is checked strictly.
_id3: Any = import_module("mutagen.id3")
APIC, CHAP, COMM, CTOC, ID3 = _id3.APIC, _id3.CHAP, _id3.COMM, _id3.CTOC, _id3.ID3
TALB, TCON, TDRC, TIT2, TLEN = _id3.TALB, _id3.TCON, _id3.TDRC, _id3.TIT2, _id3.TLEN
TPE1, TRCK, CTOCFlags = _id3.TPE1, _id3.TRCK, _id3.CTOCFlags


def write_tags(path: Path, meta: EpisodeMeta, show: ShowConfig, timeline: Timeline,
               description: str) -> None:
    tags = ID3()
    tags.add(TIT2(encoding=3, text=meta.title))
    tags.add(TALB(encoding=3, text=show.title))
    tags.add(TPE1(encoding=3, text=show.author))
    tags.add(TDRC(encoding=3, text=meta.date.isoformat()))
    tags.add(TCON(encoding=3, text="Podcast"))
    tags.add(COMM(encoding=3, lang="eng", desc="", text=description))
    tags.add(TLEN(encoding=3, text=str(round(timeline.duration * 1000))))
    if meta.episode_number:
        tags.add(TRCK(encoding=3, text=str(meta.episode_number)))
    if show.cover is not None:
        mime = "image/png" if show.cover.suffix.lower() == ".png" else "image/jpeg"
        tags.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=show.cover.read_bytes()))
    ids = chapter_element_ids([c.title for c in timeline.chapters])
    if ids:
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                      child_element_ids=ids, sub_frames=[TIT2(encoding=3, text="Chapters")]))
    for element_id, chapter in zip(ids, timeline.chapters, strict=True):
        tags.add(CHAP(
            element_id=element_id,
            start_time=round(chapter.start * 1000),
            end_time=round(chapter.end * 1000),
            sub_frames=[TIT2(encoding=3, text=chapter.title)],
        ))
    save_tags(tags, path)


def save_tags(tags: Any, path: Path) -> None:
    """Write the tags into the MP3. mutagen wraps a full disk or a read-only file in its
    own MutagenError, which would escape as a traceback: the disk's error comes back out
    as the OSError it is (the CLI prints those in one line), anything else as a
    DuopodError naming the file."""
    try:
        tags.save(path, v2_version=4)
    except MutagenError as exc:
        cause = _os_error(exc)
        if cause is not None:
            raise OSError(cause.errno, cause.strerror or str(cause), str(path)) from None
        raise DuopodError(f"{path}: cannot write the ID3 tags ({exc})") from None


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError behind a mutagen error: its argument, cause or context."""
    for candidate in (*exc.args, exc.__cause__, exc.__context__):
        if isinstance(candidate, OSError):
            return candidate
    return None


def chapter_element_ids(titles: list[str]) -> list[str]:
    """Element ids that keep CHAP frames in chronological order in the file.

    mutagen writes frames of one kind ordered by their size, and ffmpeg and several players
    list chapters in file order, so each id is padded until its frame is larger than the
    frame before it (a frame's size varies only with its id and its title).
    """
    ids: list[str] = []
    previous = -1
    for i, title in enumerate(titles):
        title_bytes = len(title.encode("utf-8"))
        element_id = f"chp{i}"
        while len(element_id) + title_bytes <= previous:
            element_id = "chp" + "0" + element_id[3:]
        ids.append(element_id)
        previous = len(element_id) + title_bytes
    return ids


def copy_chapters_to_ogg(mp3: Path, ogg: Path) -> None:
    """The MP3's ID3 chapters into an Ogg file's comments (``CHAPTER001=00:02:00.000`` and
    ``CHAPTER001NAME``, the Vorbis chapter convention players read). Written here rather
    than by ffmpeg's Ogg muxer, which rounds a start's seconds while keeping its
    milliseconds (2.975 s for a chapter at 1.975 s)."""
    open_ogg: Any = import_module("mutagen.oggopus").OggOpus
    chapters = sorted(_id3.ID3(mp3).getall("CHAP"), key=lambda chap: chap.start_time)
    if not chapters:
        return
    ogg_file = open_ogg(ogg)
    for number, chapter in enumerate(chapters):
        key = f"CHAPTER{number:03d}"
        ogg_file[key] = _clock(chapter.start_time)
        title = chapter.sub_frames.get("TIT2")
        if title is not None:
            ogg_file[f"{key}NAME"] = str(title)
    try:
        ogg_file.save()
    except MutagenError as exc:
        raise DuopodError(f"{ogg}: cannot write its chapters ({exc})") from None


def _clock(milliseconds: int) -> str:
    seconds, millis = divmod(max(0, milliseconds), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
