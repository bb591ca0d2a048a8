"""Request bodies that say no length, for the tests of a route's bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def chunked(total: int, *, prefix: bytes = b"", size: int = 65536) -> AsyncIterator[bytes]:
    """``prefix`` then ``total`` bytes in pieces of ``size``: given as a request's content,
    httpx sends it chunked, without ``Content-Length``, as a client hiding its size would."""
    if prefix:
        yield prefix
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size
