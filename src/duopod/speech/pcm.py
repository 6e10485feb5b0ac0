"""A rendered turn's 16-bit PCM on disk (the speech cache's files), read slice by slice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PcmFile"]


class PcmFile:
    """A cached turn's 16-bit PCM on disk, read slice by slice when the mix needs it, so a
    build holds no episode-sized audio in memory (the page cache does the buffering)."""

    dtype = np.dtype("<i2")

    def __init__(self, path: Path, length: int, offset: int = 0):
        self.path = path
        self.length = length
        self.offset = offset

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice):
            raise TypeError("PcmFile supports slices only")
        start, stop, step = key.indices(self.length)
        if step != 1:
            raise ValueError("PcmFile slices are contiguous")
        count = max(0, stop - start)
        if count == 0:
            return np.zeros(0, dtype=self.dtype)
        return np.fromfile(self.path, dtype=self.dtype, count=count,
                           offset=(self.offset + start) * self.dtype.itemsize)

    def __array__(self, dtype: Any = None, copy: object = None) -> np.ndarray:
        data = self[:]
        return data if dtype is None else data.astype(dtype)

    def window(self, start: int, stop: int) -> PcmFile:
        """Samples [start, stop) as another lazy file view."""
        return PcmFile(self.path, stop - start, self.offset + start)
