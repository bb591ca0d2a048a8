"""Field masking: a body holds only the fields whose scope the call may see.

Masking works from an allow-list (the provider's declared field tree), so a field the
provider returns but never declared is never shown. The tree is compiled once per route
into nested tuples, so that a request only walks plain tuples and dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any

import msgspec

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


# Each check: the path of a container inside the body, and the Struct type it must have.
Shape = tuple[tuple[Callable[[Any], Any], type], ...]


def full_shape(compiled: Compiled, response: type[msgspec.Struct]) -> Shape | None:
    """How to tell that a payload can be encoded as it is when every scope is held.

    That is so when ``response`` declares exactly the fields of ``compiled``, in the same
    order, and each container is a Struct declaring exactly its own subtree: then masking
    with every scope copies every field, and encoding the Struct gives the same bytes
    without building the dicts. None when the types do not line up so.
    """
    checks: list[tuple[Callable[[Any], Any], type]] = []

    def walk(tree: Compiled, struct: type[msgspec.Struct], path: str) -> bool:
        config = struct.__struct_config__
        if config.tag is not None or config.array_like:
            return False  # encoded with a tag field, or as an array
        fields = msgspec.structs.fields(struct)
        if tuple(f.encode_name for f in fields) != tuple(key for key, _ in tree):
            return False
        for info, (_, node) in zip(fields, tree, strict=True):
            if type(node) is str:
                continue
            inner = info.type
            if not (isinstance(inner, type) and issubclass(inner, msgspec.Struct)):
                return False
            if not info.required:
                return False  # a default container could be left out of the encoding
            inner_path = f"{path}.{info.name}" if path else info.name
            checks.append((attrgetter(inner_path), inner))
            if not walk(node, inner, inner_path):  # type: ignore[arg-type]
                return False
        return True

    return tuple(checks) if walk(compiled, response, "") else None


def conforms(payload: Any, response: type, shape: Shape) -> bool:
    """Whether ``payload`` has, at run time, the types ``shape`` was compiled for (a provider
    could put anything in a Struct's field)."""
    if type(payload) is not response:
        return False
    for get, expected in shape:  # noqa: SIM110 - a loop: no generator per request
        if type(get(payload)) is not expected:
            return False
    return True
