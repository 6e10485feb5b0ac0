"""Peak memory of this process alone, for the benchmarks' fresh-process jobs.

``getrusage(RUSAGE_SELF).ru_maxrss`` will not do on Linux: a child keeps the high-water
mark it had as a fork of its parent, before it exec'd, so a job started by ``make bench``
(whose process has by then loaded kokoro and Whisper) reported 2.0-2.3 GB for builds that
used a tenth of that. ``VmHWM`` is the high-water mark of the process's own memory map,
which starts afresh at exec.
"""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere
