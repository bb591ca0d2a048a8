"""Reading the SVAIR form page: the ViewState and the current field names.

The JSF component ids drifted over the years (``j_id6:``, ``j_id7:``, ``j_id_7:``), so the
names posted are read from the page: the form whose action ends with
``/commun/index.jsf``, its text inputs ending with ``:spi`` and ``:num_facture``, its
submit button and its hidden inputs. When the page does not show them, the names of
2016-2023 (``j_id_7:``) are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ..errors import bad_response, rate_limited

FORM_PATH = "faces/commun/index.jsf"
VIEW_STATE = "javax.faces.ViewState"
_INTERDIT = re.compile(r"""class\s*=\s*["']?interdit\b""", re.IGNORECASE)


@dataclass(frozen=True)
class FormState:
    view_state: str
    spi: str = "j_id_7:spi"
    reference: str = "j_id_7:num_facture"
    submit: tuple[str, str] = ("j_id_7:j_id_l", "Valider")
    # Other hidden inputs of the form, ``j_id_7_SUBMIT=1`` among them.
    hidden: tuple[tuple[str, str], ...] = (("j_id_7_SUBMIT", "1"),)
    action: str | None = field(default=None)

    def body(self, numero_fiscal: str, reference_avis: str) -> dict[str, str]:
        data = dict(self.hidden)
        data[self.spi] = numero_fiscal
        data[self.reference] = reference_avis
        data[self.submit[0]] = self.submit[1]
        data[VIEW_STATE] = self.view_state
        return data

    def encode(self, numero_fiscal: str, reference_avis: str) -> bytes:
        """The urlencoded POST body, as a browser sends it."""
        return urlencode(self.body(numero_fiscal, reference_avis)).encode("ascii")


def parse_form_page(page: str) -> FormState:
    """The state to post from a GET of the form; raises only provider errors."""
    try:
        return _parse(page)
    except (IndexError, KeyError, ValueError, RecursionError):
        raise bad_response() from None


def _parse(page: str) -> FormState:
    if _INTERDIT.search(page):
        raise rate_limited()
    tree = LexborHTMLParser(page)
    view_state = ""
    for node in tree.css("input"):
        if node.attributes.get("name") == VIEW_STATE:
            view_state = node.attributes.get("value") or ""
            break
    if not view_state:
        raise bad_response()
    form = _lookup_form(tree)
    if form is None:
        return FormState(view_state=view_state)
    return _from_form(form, view_state) or FormState(view_state=view_state)


def _lookup_form(tree: LexborHTMLParser) -> LexborNode | None:
    forms = tree.css("form")
    for form in forms:
        if (form.attributes.get("action") or "").endswith("/commun/index.jsf"):
            return form
    for form in forms:  # an action rewritten by a proxy: the form holding the inputs
        if any((i.attributes.get("name") or "").endswith(":spi") for i in form.css("input")):
            return form
    return None


def _from_form(form: LexborNode, view_state: str) -> FormState | None:
    spi = reference = None
    submit: tuple[str, str] | None = None
    hidden: list[tuple[str, str]] = []
    for node in form.css("input"):
        name = node.attributes.get("name") or ""
        kind = (node.attributes.get("type") or "text").lower()
        value = node.attributes.get("value") or ""
        if not name or name == VIEW_STATE:
            continue
        if name.endswith(":spi"):
            spi = name
        elif name.endswith(":num_facture"):
            reference = name
        elif kind == "submit" and (submit is None or value == "Valider"):
            submit = (name, value or "Valider")
        elif kind == "hidden":
            hidden.append((name, value))
    if spi is None or reference is None:
        return None
    form_id = spi.rsplit(":", 1)[0]
    if submit is None:
        submit = (f"{form_id}:j_id_l", "Valider")
    if not any(name == f"{form_id}_SUBMIT" for name, _ in hidden):
        hidden.append((f"{form_id}_SUBMIT", "1"))
    return FormState(
        view_state=view_state,
        spi=spi,
        reference=reference,
        submit=submit,
        hidden=tuple(hidden),
        action=form.attributes.get("action") or None,
    )
