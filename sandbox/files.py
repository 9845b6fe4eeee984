"""Small, real sample files for seeded attachments: a PNG image, a log file, a JSON document.

The PNG is built with ``zlib`` and ``struct`` only (no imaging library): an RGB image with a
few coloured bars, so viewers show a picture and ``file``/``imghdr`` recognise it.
"""

from __future__ import annotations

import json
import random
import struct
import zlib

__all__ = ["png", "log_text", "json_document", "PNG_SIGNATURE"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(rng: random.Random, width: int = 48, height: int = 32) -> bytes:
    """A ``width`` x ``height`` RGB PNG with horizontal bars in colours drawn from ``rng``."""
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    bars = [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(4)]
    rows = bytearray()
    for y in range(height):
        colour = bars[y * len(bars) // height]
        rows.append(0)  # filter type "None" for this scanline
        for x in range(width):
            shade = 0.6 + 0.4 * x / max(1, width - 1)  # a left-to-right gradient inside each bar
            rows.extend(int(c * shade) for c in colour)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + \
        _chunk(b"IEND", b"")


def log_text(rng: random.Random, service: str) -> bytes:
    """A short application log (UTF-8 text) for ``service``."""
    levels = ("INFO", "INFO", "INFO", "WARN", "ERROR")
    lines = []
    for second in sorted(rng.sample(range(3600), 12)):
        level = rng.choice(levels)
        message = {"INFO": "request served in {} ms".format(rng.randint(3, 400)),
                   "WARN": "retrying upstream call (attempt {})".format(rng.randint(1, 3)),
                   "ERROR": "upstream returned 503 Service Unavailable"}[level]
        lines.append(f"2026-11-19T10:{second // 60:02d}:{second % 60:02d}Z {level:5} {service}: {message}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def json_document(rng: random.Random, service: str) -> bytes:
    """A small JSON config/diagnostics document (UTF-8, pretty-printed)."""
    body = {
        "service": service,
        "version": f"{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        "replicas": rng.randint(2, 6),
        "limits": {"cpu": f"{rng.choice((250, 500, 1000))}m", "memory": f"{rng.choice((256, 512, 1024))}Mi"},
        "features": sorted(rng.sample(["retries", "tracing", "rate-limit", "cache", "audit"], 3)),
    }
    return (json.dumps(body, indent=2) + "\n").encode("utf-8")
