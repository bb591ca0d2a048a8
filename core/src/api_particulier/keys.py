"""API keys: their format, their checksum and how they are stored.

A key reads ``apip_`` + 43 base62 characters (256 random bits from :mod:`secrets`) + a
6-character base62 CRC32 of what precedes it. The prefix lets secret scanners find leaked
keys; the checksum lets the service refuse a mistyped or forged key without asking the
store. Only ``HMAC-SHA-256(pepper, key)`` is stored; the pepper lives outside the database,
so a copy of the database alone cannot be used to recognise keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import zlib
from pathlib import Path

import structlog

from .errors import ConfigError
from .local_secret import local_secret
from .settings import ENV_PREFIX, Settings

PREFIX = "apip_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LENGTH = 43  # 62**43 > 2**256
_CHECKSUM_LENGTH = 6  # 62**6 > 2**32
_KEY_SHAPE = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{{_BODY_LENGTH + _CHECKSUM_LENGTH}}}$")
# Keys of the historic service: hex or base64url tokens, never with our prefix.
_LEGACY_SHAPE = re.compile(r"^[0-9A-Za-z_\-]{20,128}$")
PEPPER_ENV = ENV_PREFIX + "PEPPER"
_PEPPER_FILE = "pepper"

log = structlog.get_logger("api_particulier.keys")


def _base62(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _checksum(text: str) -> str:
    return _base62(zlib.crc32(text.encode("ascii")), _CHECKSUM_LENGTH)


def generate_key() -> str:
    body = _base62(secrets.randbits(256), _BODY_LENGTH)
    return PREFIX + body + _checksum(PREFIX + body)


def is_well_formed(key: str) -> bool:
    """True when ``key`` has our shape and its checksum matches."""
    if not _KEY_SHAPE.match(key):
        return False
    head, tail = key[:-_CHECKSUM_LENGTH], key[-_CHECKSUM_LENGTH:]
    return hmac.compare_digest(_checksum(head), tail)


def may_be_legacy(key: str) -> bool:
    """True when ``key`` could be a key imported from the historic service."""
    return not key.startswith(PREFIX) and bool(_LEGACY_SHAPE.match(key))


def digest(pepper: bytes, key: str) -> str:
    return hmac.new(pepper, key.encode("utf-8"), hashlib.sha256).hexdigest()


def legacy_digest(key: str) -> str:
    """How the historic service stored keys: unsalted SHA-512, hex."""
    return hashlib.sha512(key.encode("utf-8")).hexdigest()


def hint(key: str) -> str:
    """What may be shown of a key: its last four characters."""
    return key[-4:]


def load_pepper(settings: Settings) -> bytes:
    """The pepper, from the configured secret, ``$API_PARTICULIER_PEPPER`` or, in embedded
    mode only, a file generated in the data directory."""
    configured = settings.core.auth.pepper
    value = configured.reveal() if configured is not None else os.environ.get(PEPPER_ENV)
    if value:
        if len(value) < 32:
            raise ConfigError(["the pepper must hold at least 32 characters"])
        return value.encode("utf-8")
    if not settings.embedded:
        raise ConfigError(
            [f'no pepper: set {PEPPER_ENV} or [core.auth] pepper = {{ env = "NAME" }}']
        )
    return _embedded_pepper(settings.data_dir)


def _embedded_pepper(data_dir: Path) -> bytes:
    path = data_dir / _PEPPER_FILE
    pepper, made = local_secret(path)
    if made:
        log.warning(
            "pepper_generated",
            path=str(path),
            advice=f"embedded mode only; in production set {PEPPER_ENV} outside the database",
        )
    return pepper.encode("utf-8")
