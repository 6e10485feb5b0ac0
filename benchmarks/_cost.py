"""What an episode costs (issue 22): one cold build in a fresh process, its CPU-seconds
per stage, as JSON on the last line.

    python benchmarks/_cost.py SHOW_DIR SCRIPT ENGINE [TURNS]

Stages: speech (the render, every turn, cache cold), mix (mixing, mastering and the show
notes in this process while the encoder runs), encode (the ffmpeg processes: encoder and
meter, counted when they are reaped), publish (landing the episode: pages, feed). edge
and openai go through the local stand-in servers in tests/ (their synthesis made ahead,
untimed: the client's own cost is what a queue worker pays). TURNS keeps the script's
first TURNS turns (0: all). Prints seconds of audio, CPU-s per stage, wall per stage and
the peak RSS of this process and of its largest child.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from _memory import peak_rss_mb  # noqa: E402  (this folder: the script's own)


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


@contextmanager
def _service(engine: str, script: Any, ws: Any) -> Iterator[None]:
    """The local stand-in server for a network engine, its audio made ahead."""
    if engine == "edge":
        import edge_tts.communicate
        import edge_tts.voices
        from edge_server import EdgeServer, Knobs

        server = EdgeServer(Knobs(latency=0.4, speed=5.0)).start()
        edge_tts.communicate.WSS_URL = server.wss_url
        edge_tts.voices.VOICE_LIST = server.voice_list_url
        for turn in script.turns:
            server.prepare(ws.profiles[turn.speaker].settings("edge")["voice"], turn.text)
        try:
            yield
        finally:
            server.stop()
    elif engine == "openai":
        from openai_server import Knobs as OpenAIKnobs
        from openai_server import OpenAIServer

        from duopod.text import split_sentences

        openai = OpenAIServer(OpenAIKnobs(latency=0.3)).start()
        os.environ["OPENAI_BASE_URL"] = openai.base_url
        for turn in script.turns:
            voice = ws.profiles[turn.speaker].settings("openai")["voice"]
            for sentence in split_sentences(turn.text):
                openai.prepare(voice, sentence)
        try:
            yield
        finally:
            openai.stop()
    else:
        yield


def main() -> None:
    from duopod.build import BuildOptions, load_script, make_engine
    from duopod.build.bundle import Bundle, relative_script
    from duopod.build.steps import discard, land, mix_with_notes, new_work_folder
    from duopod.show.workspace import load_workspace
    from duopod.speech.render import render_turns_async

    show, script_path, engine_name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    turns = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    ws = load_workspace(show)
    options = BuildOptions(engine=engine_name)
    script = load_script(ws, script_path, options)
    if turns:
        script = replace(script, turns=script.turns[:turns])
    engine = make_engine(engine_name, options)
    stages: dict[str, dict[str, float]] = {}

    def stage(name: str, action: Callable[[], Any]) -> Any:
        own, children = _cpu()
        started = time.perf_counter()
        result = action()
        own_after, children_after = _cpu()
        stages[name] = {"wall": time.perf_counter() - started, "own": own_after - own,
                        "children": children_after - children}
        return result

    with _service(engine_name, script, ws):
        rendered = stage("speech", lambda: asyncio.run(render_turns_async(
            script, ws, engine, use_cache=False)))
    folder = new_work_folder(ws, script.path.stem)
    try:
        mixed, notes = stage("mix", lambda: mix_with_notes(ws, script, rendered, folder,
                                                           lambda _s: None))
        bundle = Bundle(relative_script(ws, script.path), engine_name, mixed.audio,
                        mixed.timeline, mixed.measurement, notes, len(rendered), 0)
        landed = stage("publish", lambda: land(ws, bundle, BuildOptions(force=True), script))
    finally:
        discard(folder)
    cost = {
        "speech": stages["speech"]["own"] + stages["speech"]["children"],
        "mix": stages["mix"]["own"],
        "encode": stages["mix"]["children"],
        "publish": stages["publish"]["own"] + stages["publish"]["children"],
    }
    print(json.dumps({
        "engine": engine_name, "turns": len(script.turns), "duration": landed.record.duration,
        "cpu": cost, "wall": {name: s["wall"] for name, s in stages.items()},
        "peak_rss_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()
