"""The extra renditions of an episode (show.toml ``[feed] renditions``): low-bandwidth
copies of the finished MP3, made in its staging folder by the bundled ffmpeg before the
site lock is taken, listed in the feed as podcast:alternateEnclosure."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..mix.encode import encode_rendition
from ..show.feeds import Rendition as RenditionSpec
from ..store.record import Rendition


def make_renditions(mp3: Path, specs: tuple[RenditionSpec, ...]) -> tuple[Rendition, ...]:
    """Each rendition of ``mp3`` beside it (``<stem>.m4a``, ``<stem>.opus``), encoded at once
    (ffmpeg runs them on their own cores); their records, in the order asked."""
    if not specs:
        return ()

    def one(spec: RenditionSpec) -> Rendition:
        target = mp3.with_suffix(spec.extension)
        encode_rendition(mp3, target, spec.codec, spec.bitrate_kbps)
        return Rendition(file=target.name, bytes=target.stat().st_size, mime=spec.mime,
                         codecs=spec.codecs, bitrate=spec.bitrate_kbps * 1000,
                         title=spec.title)

    with ThreadPoolExecutor(max_workers=len(specs)) as pool:
        return tuple(pool.map(one, specs))
