"""The ``sub`` claim: which citizen a piece of evidence is about, without naming them."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping


def canonical_subject(params: Mapping[str, str]) -> str:
    """``name=value`` pairs sorted by name, joined by ``&`` (values as validated: spaces
    removed, no URL encoding)."""
    return "&".join(f"{name}={params[name]}" for name in sorted(params))


def subject_digest(params: Mapping[str, str]) -> str:
    """base64url, without padding, of SHA-256 over the canonical subject."""
    digest = hashlib.sha256(canonical_subject(params).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
