"""Field masking: a body holds only the fields whose scope the call may see.

Masking works from an allow-list (the provider's declared field tree), so a field the
provider returns but never declared is never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def mask(
    tree: Mapping[str, Any], data: Mapping[str, Any], scopes: frozenset[str]
) -> dict[str, Any]:
    """Copy from ``data`` the leaves of ``tree`` whose scope is in ``scopes``.

    Containers (nested mappings of ``tree``) are always present, possibly empty. A leaf the
    provider did not return (an optional field) stays absent.
    """
    out: dict[str, Any] = {}
    for key, node in tree.items():
        if isinstance(node, Mapping):
            inner = data.get(key)
            out[key] = mask(node, inner if isinstance(inner, Mapping) else {}, scopes)
        elif node in scopes and key in data:
            out[key] = data[key]
    return out
