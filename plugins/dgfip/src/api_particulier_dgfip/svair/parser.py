"""Parser of the SVAIR answer page (upstreams.md §1.3-1.6).

Detection order: the anti-bruteforce page (509), the not-found page (404), then a result
table whose first declarant has a name (200); anything else is unusable (502). The parser
raises nothing but provider errors, whatever the page: a selector or a cell that is not
where it should be ends as :func:`~api_particulier_dgfip.errors.bad_response`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from msgspec import UNSET, UnsetType
from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..errors import bad_response, not_found, rate_limited
from ..model import AvisImposition, Declarant, FoyerFiscal
from . import values

# Checked on the raw text, before parsing, as the historic client did: the blocked page
# is recognisable even when the rest of it is broken.
_INTERDIT = re.compile(rb"""class\s*=\s*["']?interdit\b""", re.IGNORECASE)

_DECLARANT_ROWS = {
    "nom": "nom",
    "nom de naissance": "nomNaissance",
    "prénom(s)": "prenoms",
    "date de naissance": "dateNaissance",
}

_SCALAR_ROWS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "date de mise en recouvrement de l'avis d'impôt": ("dateRecouvrement", values.date_or_text),
    "date d'établissement": ("dateEtablissement", values.date_or_text),
    "nombre de part(s)": ("nombreParts", values.parts),
    "situation de famille": ("situationFamille", values.clean),
    "nombre de personne(s) à charge": ("nombrePersonnesCharge", values.integer),
    "revenu brut global": ("revenuBrutGlobal", values.money),
    "revenu imposable": ("revenuImposable", values.money),
    "impôt sur le revenu net avant corrections": (
        "impotRevenuNetAvantCorrections",
        values.money,
    ),
    "montant de l'impôt": ("montantImpot", values.money),
    "revenu fiscal de référence": ("revenuFiscalReference", values.money),
}

_ADDRESS_LABEL = "adresse déclarée"
# A real result page holds about twenty rows. Far more is not a notice, and walking them
# all would only spend time on a page that cannot be used.
MAX_ROWS = 200


def parse_result_page(page: bytes | str) -> AvisImposition:
    """The tax notice of a SVAIR POST answer, or the provider error it stands for.

    ``page`` is best given as the body received (UTF-8 bytes): lexbor reads them as they
    are, and the marker checks below scan one byte per character rather than decoded text.
    """
    if isinstance(page, str):
        page = page.encode("utf-8", "replace")
    try:
        return _parse(page)
    except (IndexError, KeyError, ValueError, RecursionError):
        # Defensive net: a page shaped like nothing ever seen is unusable, not a crash.
        raise bad_response() from None


def _parse(page: bytes) -> AvisImposition:
    # Plain substring checks first: each CSS query walks the whole tree, and most pages
    # carry none of these markers. Lower-casing the page to look for the marker would cost
    # more than the rest of these checks: its usual spellings are looked for instead.
    if (b"nterdit" in page or b"NTERDIT" in page) and _INTERDIT.search(page):
        raise rate_limited()
    tree = LexborHTMLParser(page)
    if b"nonTrouve" in page and _first(tree, "#nonTrouve") is not None:
        raise not_found()
    fields = _table_fields(tree)
    declarant1 = fields.pop("declarant1")
    if not declarant1.get("nom"):
        raise bad_response()
    tax_year, income_year = values.years(_title(tree))
    for required in ("nombreParts", "nombrePersonnesCharge", "situationFamille"):
        if required not in fields:
            raise bad_response()
    fields.setdefault("dateEtablissement", "")
    for money in ("revenuBrutGlobal", "revenuImposable", "impotRevenuNetAvantCorrections"):
        fields.setdefault(money, None)
    fields.setdefault("montantImpot", None)
    fields.setdefault("revenuFiscalReference", None)
    return AvisImposition(
        declarant1=Declarant(**declarant1),
        declarant2=Declarant(**fields.pop("declarant2")),
        foyerFiscal=FoyerFiscal(
            adresse=fields.pop("adresse"),
            annee=int(tax_year) if tax_year else UNSET,
        ),
        anneeImpots=tax_year,
        anneeRevenus=income_year,
        erreurCorrectif=_block_text(tree, page, "erreurCorrectif"),
        situationPartielle=_block_text(tree, page, "situationPartielle"),
        **fields,
    )


def _first(tree: LexborHTMLParser, selector: str) -> LexborNode | None:
    found = tree.css(selector)
    return found[0] if found else None


def _cell_tag_ids() -> frozenset[int]:
    """lexbor's ids of ``td`` and ``th``: comparing ids spares building each tag's name."""
    sample = LexborHTMLParser("<table><tr><td></td><th></th></tr></table>")
    return frozenset(node.tag_id for node in sample.css("td, th"))


_CELLS = _cell_tag_ids()


def _text(node: LexborNode) -> str:
    # lexbor's own textContent: the text of every descendant, as text(deep=True) gives it
    # but without a Python callback per text node.
    return node.text_lexbor() or ""


def _table_fields(tree: LexborHTMLParser) -> dict[str, Any]:
    """Walk the result table's rows by label, not by position: rows come and go."""
    declarant1: dict[str, str] = {}
    declarant2: dict[str, str] = {key: "" for key in _DECLARANT_ROWS.values()}
    address: list[str] = []
    in_address = False
    fields: dict[str, Any] = {}
    kinds = _CELLS
    # Cell texts are read through lexbor's method directly: a Python helper around it
    # would cost one more call per cell, on every page.
    text = LexborNode.text_lexbor
    rows = tree.css("tr")
    if len(rows) > MAX_ROWS:
        raise bad_response()
    for row in rows:
        cells = [child for child in row.iter() if child.tag_id in kinds]
        if not cells:
            continue
        label = values.normalise_label(text(cells[0]) or "")
        if in_address:
            # Continuation lines: an empty label cell and the line spanning two columns.
            if label == "" and len(cells) >= 2:
                line = values.clean(text(cells[1]) or "")
                if line:
                    address.append(line)
                continue
            in_address = False
        if len(cells) >= 3 and label in _DECLARANT_ROWS:
            key = _DECLARANT_ROWS[label]
            first = values.clean(text(cells[1]) or "")
            second = values.clean(text(cells[2]) or "")
            if key == "dateNaissance":
                first, second = values.date_or_text(first), values.date_or_text(second)
            if first:
                declarant1[key] = first
            declarant2[key] = second
        elif len(cells) >= 2 and label.startswith(_ADDRESS_LABEL):
            in_address = True
            line = values.clean(text(cells[1]) or "")
            if line:
                address.append(line)
        elif len(cells) >= 2 and label in _SCALAR_ROWS:
            name, convert = _SCALAR_ROWS[label]
            fields[name] = convert(text(cells[-1]) or "")
    fields["declarant1"] = declarant1
    fields["declarant2"] = declarant2
    fields["adresse"] = " ".join(address)
    if "dateRecouvrement" in fields and fields["dateRecouvrement"] == "":
        # An empty recovery-date cell means "no date": the key is then omitted.
        del fields["dateRecouvrement"]
    return fields


def _title(tree: LexborHTMLParser) -> str:
    block = _first(tree, "div.titre_affiche_avis")
    if block is None:
        return ""
    span = block.css_first("span")
    return _text(span if span is not None else block)


def _block_text(tree: LexborHTMLParser, page: bytes, block_id: str) -> str | UnsetType:
    """Direct text pieces of a div, each trimmed, joined by one space; UNSET when empty."""
    node = _first(tree, f"#{block_id}") if block_id.encode("ascii") in page else None
    if node is None:
        return UNSET
    pieces = [
        values.clean(child.text(deep=False) or "")
        for child in node.iter(include_text=True)
        if child.tag == "-text"
    ]
    text = " ".join(piece for piece in pieces if piece)
    return text if text else UNSET
