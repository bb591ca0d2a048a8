"""Masking: an allow-list of fields, each shown only with its scope."""

from __future__ import annotations

from typing import Any

import msgspec
from api_particulier.masking import apply, compile_fields
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
def test_with_every_scope_the_body_is_the_whole_struct(payload: Outer) -> None:
    assert msgspec.json.decode(masked(payload, SCOPES)) == msgspec.to_builtins(payload)


@given(outers, st.sets(st.sampled_from(sorted(SCOPES))))
def test_masking_keeps_only_held_scopes_and_every_container(payload: Outer, held: set[str]) -> None:
    body = msgspec.json.decode(masked(payload, frozenset(held)))
    assert set(body) >= {"inner", "quiet"}
    shown = {f"s_{k}" for k in body if k in ("e", "f")}
    shown |= {f"s_{k}" for part in ("inner", "quiet") for k in body[part]}
    assert shown <= held


def test_what_the_tree_does_not_declare_is_never_shown() -> None:
    smuggled = Outer(
        inner={"a": "x", "secret": "never"},  # type: ignore[arg-type]
        quiet=Quiet(),
        e=None,
    )
    assert b"never" not in masked(smuggled, SCOPES)
