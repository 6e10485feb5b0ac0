"""One timed mix in a fresh process (so peak memory is this build's alone).

    python benchmarks/_mix_job.py SHOW_DIR SCRIPT

Renders (from cache when warm) untimed, then times mix + master + encode + publish and
prints a JSON line: seconds, audio duration, peak RSS.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from _memory import peak_rss_mb  # this folder: the script's own

from duopod.build import BuildOptions, load_script, render
from duopod.build.pipeline import mix_and_publish
from duopod.show.workspace import load_workspace
from duopod.speech.engines import get_engine


def main() -> None:
    show, script_path = Path(sys.argv[1]), Path(sys.argv[2])
    ws = load_workspace(show)
    options = BuildOptions(engine="espeak")
    script = load_script(ws, script_path, options)
    rendered = render(ws, script, get_engine("espeak"), options)
    started = time.perf_counter()
    record, _mixed = mix_and_publish(ws, script, rendered, "espeak")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "duration": record.duration,
                      "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
