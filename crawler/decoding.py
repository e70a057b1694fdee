"""Content-Encoding decoded with a cap on the decoded bytes: no gzip bomb gets through.

HTTP clients decode a body chunk by chunk with ``zlib``'s ``decompress(chunk)``, which
has no output bound: one 16 KB chunk of a gzip bomb inflates to ~16 MB before
the crawler's byte cap is even looked at, and a sitemap read whole and then
``gzip.decompress``-ed took the process from 52 MB to 820 MB on a 389 KB file.
Here every stage is a ``zlib.decompressobj`` asked for at most the bytes still
wanted (``max_length``), so memory never exceeds the cap, whatever the ratio.

``gzip``, ``x-gzip`` and ``deflate`` (zlib-wrapped or raw, as servers send
both) are decoded, also stacked (``gzip, gzip``). The crawler asks for
``gzip, deflate`` only; an answer in another coding (``br``, ``zstd``) that was
not asked for is kept as sent, bounded by its raw size, and so is no bomb.
"""

from __future__ import annotations

import zlib

ZLIB_CODINGS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class DecodingError(ValueError):
    """The body is not valid data in the Content-Encoding it was sent with."""


class _Stage:
    """One coding undone; ``deflate`` falls back to raw deflate when it has no zlib header."""

    def __init__(self, wbits: int) -> None:
        self.raw_fallback = wbits == zlib.MAX_WBITS
        self.inflater = zlib.decompressobj(wbits)
        self.started = False

    def decode(self, data: bytes, room: int) -> tuple[bytes, bool]:
        try:
            out = self.inflater.decompress(data, room)
        except zlib.error as exc:
            if not (self.raw_fallback and not self.started):
                raise DecodingError(f"the body is not valid compressed data: {exc}") from None
            self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self.raw_fallback = False
            return self.decode(data, room)
        self.started = True
        return out, bool(self.inflater.unconsumed_tail)


class BoundedDecoder:
    """Undoes a response's Content-Encoding, never giving more than it is asked for."""

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        known = all(c in ZLIB_CODINGS or c == "identity" for c in codings)
        # an unknown coding anywhere: the body is kept as sent (it was not asked for)
        self._stages = (
            [_Stage(ZLIB_CODINGS[c]) for c in reversed(codings) if c in ZLIB_CODINGS] if known else []
        )

    def decode(self, data: bytes, room: int) -> tuple[bytes, bool]:
        """At most ``room`` decoded bytes of ``data``, and whether it held more than that."""
        if room <= 0:  # zlib reads a max_length of 0 as "no limit"
            return b"", bool(data)
        more = False
        for stage in self._stages:
            data, left = stage.decode(data, room)
            more = more or left
        if len(data) > room:
            return data[:room], True
        return data, more


def decode_capped(data: bytes, content_encoding: str, limit: int) -> tuple[bytes, bool]:
    """``data`` decoded, at most ``limit`` bytes of it, and whether there was more."""
    return BoundedDecoder(content_encoding).decode(data, limit)
