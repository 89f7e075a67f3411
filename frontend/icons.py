"""Draw the app icons (a white passport on green) as PNGs with the standard library only, so
no image library is needed. Run: python -m frontend.icons"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

GREEN, WHITE = (0x0B, 0x5D, 0x3B), (0xFF, 0xFF, 0xFF)


def _pixel(x: float, y: float) -> tuple[int, int, int]:
    # Unit square coordinates: a rounded passport booklet with a circle (the emblem) on it.
    if 0.28 <= x <= 0.72 and 0.18 <= y <= 0.82:
        ring = (x - 0.5) ** 2 + (y - 0.42) ** 2
        if 0.08**2 <= ring <= 0.11**2:
            return GREEN
        if 0.36 <= x <= 0.64 and 0.64 <= y <= 0.68:
            return GREEN
        return WHITE
    return GREEN


def png(size: int) -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes(_pixel(x / size, y / size)) for x in range(size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


if __name__ == "__main__":
    out = Path(__file__).parent / "static" / "frontend"
    for size in (192, 512):
        (out / f"icon-{size}.png").write_bytes(png(size))
