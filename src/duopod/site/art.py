"""The show's cover in several sizes, for podcast:image (and podcast:images' ``srcset``):
apps showing a list of shows want a 300 px picture, not the 1400-3000 px one Apple asks
for. Scaled by the bundled ffmpeg (Pillow is not a dependency), each size named by the
cover's content like the cover itself, so it is made once and never rewritten."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from ..audio.decode import ffmpeg_exe
from ..disk.atomic import content_name, write_atomically
from ..show.apple import image_size
from .feed import ArtSize

SIZES = (600, 300)
"""Widths made below the cover's own (which stays the largest size)."""
_MIME = {"png": "image/png", "jpeg": "image/jpeg"}


def cover_sizes(cover: Path, folder: Path) -> list[ArtSize]:
    """The cover's sizes in the site ``folder``, largest first (the published cover
    itself, then each of ``SIZES`` below it), made now when missing. A cover whose header
    cannot be read, or that ffmpeg cannot scale, has only its own size listed."""
    data = cover.read_bytes()
    found = image_size(data)
    if found is None:
        return []
    kind, width, height = found
    sizes = [ArtSize(content_name(cover), width, height, _MIME[kind])]
    digest = hashlib.sha256(data).hexdigest()[:10]
    suffix = cover.suffix.lower()
    for target in (w for w in SIZES if w < width):
        name = f"{cover.stem}-{target}w-{digest}{suffix}"
        scaled_height = round(height * target / width)
        if not (folder / name).is_file() and not _scale(cover, folder / name, target,
                                                        scaled_height):
            continue
        sizes.append(ArtSize(name, target, scaled_height, _MIME[kind]))
    return sizes


def _scale(cover: Path, target: Path, width: int, height: int) -> bool:
    """Write ``cover`` scaled to ``width`` x ``height`` (Lanczos) at ``target``, whole."""
    codec = ["-c:v", "png", "-f", "image2pipe"] if target.suffix == ".png" else \
        ["-c:v", "mjpeg", "-q:v", "3", "-f", "image2pipe"]
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
               "-i", str(cover.resolve()), "-vf", f"scale={width}:{height}:flags=lanczos",
               "-frames:v", "1", *codec, "pipe:1"]
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0 or image_size(done.stdout) is None:
        return False
    write_atomically(target, done.stdout)
    return True
