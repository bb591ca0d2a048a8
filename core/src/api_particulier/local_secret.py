"""Secrets the embedded mode makes for itself, kept in a file of the data directory.

A deployment configures its secrets (``{ env = "NAME" }``); the embedded defaults, which
must start with nothing set, make each one on first use and keep it beside the data. Several
processes may start at once on the same directory (``uvicorn --workers``): the file appears
whole, once, and every process reads the same value.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def local_secret(path: Path) -> tuple[str, bool]:
    """The secret kept in ``path``, made there first if absent (64 URL-safe characters,
    readable by this user only); and whether this call made it."""
    if path.exists():
        return _read(path), False
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under another name, then linked into place: a process that finds the
    # file never reads it half written, and of two processes making it, one link wins.
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(scratch, path)
        except FileExistsError:
            return _read(path), False
    finally:
        os.unlink(scratch)
    return _read(path), True


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()
