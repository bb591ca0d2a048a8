"""Every scope of the provider has a French label, for the access request form."""

from __future__ import annotations

from api_particulier_dgfip.routes import FIELDS, SCOPE_LABELS


def _leaves(tree: dict[str, object]) -> set[str]:
    found: set[str] = set()
    for node in tree.values():
        found |= _leaves(node) if isinstance(node, dict) else {str(node)}
    return found


def test_every_scope_has_a_label() -> None:
    assert set(SCOPE_LABELS) == _leaves(FIELDS)
    assert all(label.strip() for label in SCOPE_LABELS.values())
