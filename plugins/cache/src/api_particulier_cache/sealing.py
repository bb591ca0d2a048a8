"""What makes cached data unreadable at rest: entry names are HMACs of the route and the
normalised parameters (no identifier in a Redis key), values are AES-GCM sealed under the
current key (older keys still open what they sealed: rotation), bound to their name."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_KEY_ID = 8
_NONCE = 12
MIN_SECRET = 32


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class Sealer:
    def __init__(self, lookup_secret: bytes, keys: Sequence[bytes]) -> None:
        """``keys``: the current one first, then those still to be read."""
        self._lookup = _derive(lookup_secret, b"api-particulier cache names")
        self._ciphers: dict[bytes, AESGCM] = {}
        self._current = b""
        for index, secret in enumerate(keys):
            material = _derive(secret, b"api-particulier cache values")
            key_id = hashlib.sha256(material).digest()[:_KEY_ID]
            self._ciphers.setdefault(key_id, AESGCM(material))
            if index == 0:
                self._current = key_id

    def name(self, route: str, normalised: bytes) -> str:
        """The entry's name: nothing of the parameters can be read from it."""
        mac = hmac.new(self._lookup, route.encode() + b"\0" + normalised, hashlib.sha256)
        return mac.hexdigest()

    def seal(self, name: str, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[self._current].encrypt(nonce, plain, name.encode())
        return self._current + nonce + sealed

    def open(self, name: str, sealed: bytes) -> bytes | None:
        """The plain value, or None when it does not open (unknown key, tampered, moved)."""
        cipher = self._ciphers.get(sealed[:_KEY_ID])
        if cipher is None or len(sealed) < _KEY_ID + _NONCE + 16:
            return None
        nonce = sealed[_KEY_ID : _KEY_ID + _NONCE]
        try:
            return cipher.decrypt(nonce, sealed[_KEY_ID + _NONCE :], name.encode())
        except InvalidTag:
            return None
