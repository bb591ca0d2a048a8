"""What a person types for a SIRET."""

from __future__ import annotations

from api_particulier_habilitation.siret import normalise


def test_spaces_copied_from_a_letterhead_are_removed() -> None:
    assert normalise(" 217 500 016 00019 ") == "21750001600019"
    assert normalise("217\u00a0500\t016 00019") == "21750001600019"
