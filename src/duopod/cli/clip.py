"""``duopod clip``: a short captioned video of a published episode for social media. The
work is in ``duopod.clip``. Clips go to ``clips/`` in the show's folder: a clip is for
social media, not for podcast apps, so it stays out of ``episodes/`` (which a deploy
publishes) unless ``--out`` names a place there."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def clip(
    slug: Annotated[str, typer.Argument(help="The episode's folder name under episodes/.")],
    start: Annotated[str | None, typer.Option(
        "--from", help="Start, in seconds or m:ss (default: the start).")] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="End, in seconds or m:ss (default: 60 s after the start).")] = None,
    soundbite: Annotated[int | None, typer.Option(
        help="The episode's N-th key point, where it is heard (instead of --from/--to).")]
    = None,
    video_format: Annotated[str, typer.Option(
        "--format", help="9:16 (stories, reels), 1:1 or 16:9.")] = "9:16",
    out: Annotated[Path | None, typer.Option(
        help="The MP4 to write (default: clips/SLUG-<from>s-<format>.mp4 in the show's "
        "folder, outside the published site).")] = None,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="The show's folder (holds show.toml).")] = None,
) -> None:
    """Make an MP4 clip (cover, speaker, waveform, captions) of a built episode.

    Example: duopod clip 2025-12-10-h200 --from 0:12 --to 0:40 --format 1:1
    """
    from rich.console import Console

    from ..clip import caption_font, make_clip, parse_time, soundbite_span
    from ..errors import InputError
    from ..show.workspace import load_workspace
    from ..store.episodes import episode_folder, read_record

    finish: float | None
    ws = load_workspace(workspace)
    if soundbite is not None:
        if start is not None or end is not None:
            raise InputError("give --soundbite or --from/--to, not both")
        record = read_record(episode_folder(ws, slug) / "episode.json")
        if record.timeline is None:
            raise InputError(f"episode {slug!r} has no timeline")
        begin, finish = soundbite_span(record.timeline, record.notes.key_points, soundbite)
    else:
        begin = parse_time(start) if start is not None else 0.0
        finish = parse_time(end) if end is not None else None
    shape = video_format.replace(":", "x")
    target = out or ws.clips_dir / f"{slug}-{round(begin)}s-{shape}.mp4"
    made = make_clip(ws, slug, target, start=begin, end=finish, video_format=video_format)
    font = caption_font()
    if font.problem:
        Console(stderr=True).print(f"duopod: warning: captions in the system's {font.family}: "
                                   f"{font.problem}", markup=False, highlight=False)
    Console().print(f"clip: {made}", markup=False, highlight=False)
