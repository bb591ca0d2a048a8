"""Field masking: a body holds only the fields whose scope the call may see.

Masking works from an allow-list (the provider's declared field tree), so a field the
provider returns but never declared is never shown. The tree is compiled once per route
into nested tuples, so that a request only walks plain tuples and dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (key, scope) for a leaf, (key, children) for a container.
Compiled = tuple[tuple[str, "str | Compiled"], ...]


def compile_fields(tree: Mapping[str, Any]) -> Compiled:
    return tuple(
        (key, compile_fields(node) if isinstance(node, Mapping) else str(node))
        for key, node in tree.items()
    )


def apply(compiled: Compiled, data: Mapping[str, Any], scopes: frozenset[str]) -> dict[str, Any]:
    """Copy from ``data`` the leaves of ``compiled`` whose scope is in ``scopes``.

    Containers are always present, possibly empty. A leaf the provider did not return (an
    optional field) stays absent.
    """
    out: dict[str, Any] = {}
    for key, node in compiled:
        if type(node) is str:
            if node in scopes and key in data:
                out[key] = data[key]
        else:
            inner = data.get(key)
            out[key] = apply(node, inner if isinstance(inner, dict) else {}, scopes)  # type: ignore[arg-type]
    return out
