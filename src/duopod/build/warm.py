"""What every build worker needs, loaded before the first one exists.

``ProcessPool`` starts its workers from a fork server that imports this module once
(``set_forkserver_preload``): each worker is then a fork of a process that already holds
the build's modules, numpy's FFT and jieba's dictionaries, instead of a fresh interpreter
paying about 2 CPU-seconds for them again. On two cores that CPU is what a second build
takes from the first (``make bench``, the jobs rows). Importing this module has that one
effect; nothing here runs a build.
"""

from __future__ import annotations

import contextlib

import imageio_ffmpeg
import numpy.fft

from ..mix import limiter, master, peak, plan
from ..text.notes import load_dictionaries
from . import run, steps

__all__ = ["PRELOADED"]

PRELOADED = (imageio_ffmpeg, numpy.fft, limiter, master, peak, plan, run, steps)
"""Held so the imports read as used."""

# a warm-up only: should the dictionaries fail to load here, the fork server must still
# start, and a worker that needs them loads them itself and reports what went wrong
with contextlib.suppress(Exception):
    load_dictionaries()
