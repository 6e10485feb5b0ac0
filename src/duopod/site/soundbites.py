"""podcast:soundbite: the moments an app can play to sell the episode, chosen from the
show notes' key points, which are sentences of the script, at the times the timeline says
they are heard. The namespace suggests 15 to 120 seconds, so a soundbite runs on from the
key sentence through the sentences after it until it lasts at least ``MIN_SECONDS``."""

from __future__ import annotations

from collections.abc import Sequence

from ..mix.timeline import Timeline
from ..store.record import Soundbite

MIN_SECONDS, MAX_SECONDS = 15.0, 120.0
TITLE_MAX = 128
LIMIT = 3


def _flat(text: str) -> str:
    return " ".join(text.split())


def choose(timeline: Timeline, key_points: Sequence[str], limit: int = LIMIT
           ) -> tuple[Soundbite, ...]:
    """Up to ``limit`` soundbites, one per key point found as a sentence of the timeline."""
    spans = [(s.start, s.end, _flat(s.text)) for turn in timeline.turns for s in turn.sentences]
    chosen: list[Soundbite] = []
    for point in key_points:
        wanted = _flat(point)
        index = next((i for i, (_, _, text) in enumerate(spans) if text and text == wanted),
                     None)
        if index is None:
            continue
        start = spans[index][0]
        end = spans[index][1]
        for _, later_end, _ in spans[index + 1:]:
            if end - start >= MIN_SECONDS or later_end - start > MAX_SECONDS:
                break
            end = later_end
        end = min(end, timeline.duration, start + MAX_SECONDS)
        chosen.append(Soundbite(round(start, 3), round(end - start, 3), wanted[:TITLE_MAX]))
        if len(chosen) == limit:
            break
    return tuple(chosen)
