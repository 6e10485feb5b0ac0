"""Stage 3, mix: rendered turns become one mastered, tagged-ready MP3 and its ``Timeline``.

``mix_episode`` is the stage's entry point: plan (``plan.py``), then master and encode
(``master.py``, ``encode.py``, ``limiter.py``). ID3 tags (``tags.py``) are written by the
publish stage, which knows the show notes they carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..script.model import Script
from ..show.workspace import AudioSettings, MixSettings, Workspace
from ..speech.model import RenderedTurn
from .encode import Measurement
from .timeline import Chapter, Timeline, TimelineTurn

__all__ = ["Chapter", "Measurement", "MixedEpisode", "Timeline", "TimelineTurn", "mix_episode"]


@dataclass(frozen=True)
class MixedEpisode:
    """What the mix hands to publishing: the encoded MP3, who speaks when, and how loud
    the encoded file measured."""

    audio: Path
    timeline: Timeline
    measurement: Measurement


def mix_episode(workspace: Workspace, script: Script, rendered: list[RenderedTurn],
                audio: Path, on_planned: Callable[[Timeline], None] | None = None
                ) -> MixedEpisode:
    """Plan the mix of ``rendered`` with the show's (and the script's own) pacing and music,
    then master and encode it to ``audio``. ``on_planned`` hears the timeline as soon as it
    is known, before the (slow) encoding, so the caller can start work that needs it."""
    from .master import master_and_encode
    from .plan import plan_mix

    show = workspace.show
    settings = _paced(show.audio, script.meta.pacing)
    language = script.meta.lifecycle.language or show.language
    layout = plan_mix(script, rendered, settings, show.music, language,
                      paced_mix(show.mix, script.meta.pacing))
    if on_planned is not None:
        on_planned(layout.timeline)
    measurement = master_and_encode(layout, settings, audio)
    return MixedEpisode(audio, layout.timeline, measurement)


def paced_mix(mix: MixSettings, pacing: dict[str, float]) -> MixSettings:
    """The show's [mix] for a script: its own ``pacing:`` gap or gap_jitter asks for that
    episode's even gaps (every speaker change that long), as it did before [mix]."""
    if "gap" in pacing or "gap_jitter" in pacing:
        return replace(mix, timing="even")
    return mix


def _paced(audio: AudioSettings, pacing: dict[str, float]) -> AudioSettings:
    """The show's audio settings with the script's own pacing (front matter) winning."""
    return replace(audio, gap=pacing.get("gap", audio.gap),
                   gap_jitter=pacing.get("gap_jitter", audio.gap_jitter),
                   section_gap=pacing.get("section_gap", audio.section_gap))
