"""Each journal row's scopes, stored once per distinct set.

A data call's row names the scopes its answer could show: for a key holding every scope of
the tax notice, 628 bytes of text, the same on nearly every row — more than half of the
journal on disk. The text is kept once in ``journal_scope_sets``, under a key derived from
it, and each row holds the key. The key is the text's own digest, so any process on any
host writes the same key for the same set without asking the database first, and the rows
read back carry the text, as the chain's digests were computed over it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..types import CallRecord

# Where the scopes' text sits in a row laid out as CallRecord's fields.
SCOPES = CallRecord.__struct_fields__.index("scopes")
# The columns of a row as the stores write it: the record's fields, the scopes' key in
# place of their text.
WRITTEN_FIELDS = tuple(
    "scope_set" if name == "scopes" else name for name in CallRecord.__struct_fields__
)
# The record's fields as read back, the scopes' text found from the row's key.
SELECTED_COLUMNS = ", ".join(
    "(SELECT s.scopes FROM journal_scope_sets AS s WHERE s.key = calls.scope_set) AS scopes"
    if name == "scopes"
    else f"calls.{name}"
    for name in CallRecord.__struct_fields__
)


def scope_set_key(scopes: str) -> str:
    """The key of a set of scopes: the first 128 bits of the SHA-256 of its text."""
    return hashlib.sha256(scopes.encode("utf-8")).hexdigest()[:32]


def keyed(rows: Sequence[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """``rows`` with their scopes' text replaced by its key, and each (key, text) they
    name, once."""
    keys: dict[str, str] = {}
    written = []
    for row in rows:
        scopes = row[SCOPES]
        if scopes is None:
            written.append(row)
            continue
        key = keys.get(scopes)
        if key is None:
            key = keys[scopes] = scope_set_key(scopes)
        written.append((*row[:SCOPES], key, *row[SCOPES + 1 :]))
    return written, [(key, scopes) for scopes, key in keys.items()]
