"""Draw a starter cover (1400 x 1400 PNG, Apple's minimum) with numpy alone: two
overlapping speech bubbles, one per host, on a warm gradient. No fonts, no downloads.
``duopod init`` writes it into a new show; a producer replaces it with the show's own art.

    python -m duopod.starter.cover art/cover.png
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIZE = 1400


def png(pixels: np.ndarray) -> bytes:
    """Encode an (h, w, 3) uint8 array as a PNG."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def bubble_tail(x: np.ndarray, y: np.ndarray, tip_x: float, top: float) -> np.ndarray:
    """A short triangle hanging below a bubble, narrowing to a point."""
    depth = (y - top) / 0.09
    return (depth > 0) & (depth < 1) & (np.abs(x - tip_x) < 0.045 * (1 - depth))


def cover_png() -> bytes:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    top, bottom = np.array([180, 35, 42]), np.array([36, 24, 48])
    image = (top * (1 - y[..., None]) + bottom * y[..., None]).astype(np.float32)
    for cx, cy, radius, colour, side in ((0.40, 0.44, 0.24, (251, 250, 247), -1),
                                         (0.62, 0.58, 0.20, (255, 214, 102), 1)):
        inside = (x - cx) ** 2 + (y - cy) ** 2 < radius**2
        image[inside | bubble_tail(x, y, cx + side * radius * 0.5, cy + radius * 0.75)] = colour
    for i, cx in enumerate((0.33, 0.40, 0.47)):  # "..." in the first bubble
        dot = (x - cx) ** 2 + (y - 0.44) ** 2 < 0.028**2
        image[dot] = (180, 35, 42) if i != 1 else (36, 24, 48)
    return png(np.clip(image, 0, 255).astype(np.uint8))


if __name__ == "__main__":
    import sys

    Path(sys.argv[1] if len(sys.argv) > 1 else "cover.png").write_bytes(cover_png())
