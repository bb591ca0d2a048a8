"""Masking, and the shortcut that encodes a payload as it is when every scope is held."""

from __future__ import annotations

from typing import Any

import msgspec
from api_particulier.masking import apply, compile_fields, conforms, full_shape
from hypothesis import given
from hypothesis import strategies as st
from msgspec import UNSET, UnsetType


class Inner(msgspec.Struct, frozen=True, kw_only=True):
    a: str
    b: int | UnsetType = UNSET


class Quiet(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    c: str = ""
    d: list[int] = msgspec.field(default_factory=list)


class Outer(msgspec.Struct, frozen=True, kw_only=True):
    inner: Inner
    quiet: Quiet
    e: float | None
    f: str | UnsetType = UNSET


TREE: dict[str, Any] = {
    "inner": {"a": "s_a", "b": "s_b"},
    "quiet": {"c": "s_c", "d": "s_d"},
    "e": "s_e",
    "f": "s_f",
}
SCOPES = frozenset({"s_a", "s_b", "s_c", "s_d", "s_e", "s_f"})
COMPILED = compile_fields(TREE)
_encode = msgspec.json.encode

texts = st.text(st.characters(codec="utf-8"), max_size=5)
outers = st.builds(
    Outer,
    inner=st.builds(Inner, a=texts, b=st.one_of(st.just(UNSET), st.integers())),
    quiet=st.builds(Quiet, c=texts, d=st.lists(st.integers(), max_size=3)),
    e=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    f=st.one_of(st.just(UNSET), texts),
)


def masked(payload: Any, scopes: frozenset[str]) -> bytes:
    return _encode(apply(COMPILED, msgspec.to_builtins(payload), scopes))


@given(outers)
def test_with_every_scope_the_struct_encodes_to_the_masked_body(payload: Outer) -> None:
    shape = full_shape(COMPILED, Outer)
    assert shape is not None
    assert conforms(payload, Outer, shape)
    assert _encode(payload) == masked(payload, SCOPES)


@given(outers, st.sets(st.sampled_from(sorted(SCOPES))))
def test_masking_keeps_only_held_scopes_and_every_container(payload: Outer, held: set[str]) -> None:
    body = msgspec.json.decode(masked(payload, frozenset(held)))
    assert set(body) >= {"inner", "quiet"}
    shown = {f"s_{k}" for k in body if k in ("e", "f")}
    shown |= {f"s_{k}" for part in ("inner", "quiet") for k in body[part]}
    assert shown <= held


def test_no_shortcut_when_the_struct_differs_from_the_tree() -> None:
    reordered = compile_fields({"quiet": TREE["quiet"], **TREE})
    assert full_shape(reordered, Outer) is None
    fewer = compile_fields({k: v for k, v in TREE.items() if k != "f"})
    assert full_shape(fewer, Outer) is None  # Outer would show f, which is not declared
    leaf_container = compile_fields({**TREE, "inner": "s_inner"})
    assert full_shape(leaf_container, Outer) is not None  # a leaf may hold anything whole

    class Tagged(msgspec.Struct, tag=True):
        a: str

    assert full_shape(compile_fields({"a": "s_a"}), Tagged) is None

    class Optional(msgspec.Struct):
        inner: Inner | None

    assert full_shape(compile_fields({"inner": TREE["inner"]}), Optional) is None


def test_a_payload_with_other_types_inside_is_not_taken_as_it_is() -> None:
    shape = full_shape(COMPILED, Outer)
    assert shape is not None
    smuggled = Outer(
        inner={"a": "x", "secret": "never"},  # type: ignore[arg-type]
        quiet=Quiet(),
        e=None,
    )
    assert not conforms(smuggled, Outer, shape)
    assert b"never" not in masked(smuggled, SCOPES)
