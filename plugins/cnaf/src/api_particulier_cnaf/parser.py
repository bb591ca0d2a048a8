"""Parsing of CNAF's answer into the body of contract §4.

Order of checks (upstreams.md §2.5): MIME framing → SOAP envelope → ``codeRetour`` → the
``drtData`` document. That document travels as the *text* of ``fluxRetour``: the envelope
parser decodes one level of entities, and the resulting string is parsed again as XML. It is
never unescaped a second time, so an ``&amp;`` of a name (``MARTIN MARIE & PIERRE``) reaches
the second parse as ``&amp;`` and comes out as ``&``.

Both parses use defusedxml with DTDs forbidden (hence no entity expansion and no external
fetch) on input whose size is capped first. Whatever the input, only provider errors leave
this module: 502 for anything unusable, the code table's errors for a non-zero
``codeRetour``, 503 for a SOAP fault.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Final
from xml.etree.ElementTree import Element, ParseError

from api_particulier import ProviderBadResponse, ProviderUnavailable
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .codes import error_for_code
from .models import ADDRESS_KEYS
from .multipart import root_part

# Real answers are 2-3 KB; a household with many children stays far below this.
MAX_BODY_BYTES: Final = 512 * 1024

_SOAP_NS = "{http://schemas.xmlsoap.org/soap/envelope/}"
_DIGITS = re.compile(r"^[0-9]{1,9}$")
_SIGNED = re.compile(r"^-?[0-9]{1,9}$")


def _xml(data: bytes | str) -> Element:
    # CNAF speaks UTF-8 only. Decoding here, and handing expat a str, makes it ignore the
    # declared encoding: a forged declaration cannot make it look up arbitrary codecs.
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProviderBadResponse() from None
    try:
        return fromstring(data.removeprefix("\ufeff"), forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError, LookupError):
        raise ProviderBadResponse() from None


def _child(parent: Element, name: str) -> Element | None:
    """The first child named ``name``, in any namespace or none (Axis2 leaves these bare)."""
    for child in parent:
        if isinstance(child.tag, str) and child.tag.rpartition("}")[2] == name:
            return child
    return None


def _children(parent: Element, name: str) -> list[Element]:
    return [c for c in parent if isinstance(c.tag, str) and c.tag.rpartition("}")[2] == name]


def _text(parent: Element, name: str) -> str:
    node = _child(parent, name)
    return (node.text or "").strip() if node is not None else ""


def parse_answer(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The full (unmasked) body for a CNAF answer, or the provider error it means."""
    if len(body) > MAX_BODY_BYTES:
        raise ProviderBadResponse()
    envelope = _xml(root_part(body, content_type))
    bean = _result_bean(envelope)
    code = _text(bean, "codeRetour")
    if not _DIGITS.match(code):
        raise ProviderBadResponse()
    if int(code) != 0:
        raise error_for_code(int(code))
    flux = _child(bean, "fluxRetour")
    if flux is None or not (flux.text or "").strip():
        raise ProviderBadResponse()
    # One level of entity decoding was done by the envelope parse: parse the text as it is.
    return parse_document(flux.text.strip() if flux.text else "")


def _result_bean(envelope: Element) -> Element:
    if envelope.tag != _SOAP_NS + "Envelope":
        raise ProviderBadResponse()
    body = _child(envelope, "Body")
    if body is None:
        raise ProviderBadResponse()
    if _child(body, "Fault") is not None:
        # A SOAP fault is CNAF's service failing, not an answer about the household.
        raise ProviderUnavailable()
    node: Element | None = body
    for name in ("demanderDocumentWebResponse", "return", "beanRetourDemandeDocumentWeb"):
        node = _child(node, name) if node is not None else None
    if node is None:
        raise ProviderBadResponse()
    return node


def parse_document(document: str) -> dict[str, Any]:
    """The body for a ``drtData`` document (the decoded text of ``fluxRetour``)."""
    root = _xml(document)
    if root.tag != "drtData":
        raise ProviderBadResponse()
    allocataires = _persons(root, "identePersonnes", "UNEPERSONNE")
    if not allocataires:
        # A household has at least one allocataire; an empty list means a broken document.
        raise ProviderBadResponse()
    quotient, mois, annee = _quotient(root)
    return {
        "allocataires": allocataires,
        "enfants": _persons(root, "identeEnfants", "UNENFANT"),
        "adresse": _address(root),
        "quotientFamilial": quotient,
        "mois": mois,
        "annee": annee,
    }


def _address(root: Element) -> dict[str, str]:
    node = _child(root, "adresse")
    if node is None:
        raise ProviderBadResponse()
    address: dict[str, str] = {}
    for number, key in enumerate(ADDRESS_KEYS, start=1):
        value = _text(node, f"LIBLIG{number}ADR")
        if value:
            address[key] = value
    return address


def _persons(root: Element, group: str, item: str) -> list[dict[str, str]]:
    node = _child(root, group)
    if node is None:
        return []
    return [_person(element) for element in _children(node, item)]


def _person(node: Element) -> dict[str, str]:
    name = _text(node, "NOMPRENOM")
    sex = _text(node, "SEXE")
    if not name or sex not in ("M", "F"):
        raise ProviderBadResponse()
    return {"nomPrenom": name, "dateDeNaissance": _birth_date(_text(node, "DATNAISS")), "sexe": sex}


def _birth_date(value: str) -> str:
    """``ddMMyyyy`` checked as a real date and given back unchanged."""
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        raise ProviderBadResponse()
    try:
        datetime.date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError:
        raise ProviderBadResponse() from None
    return value


def _quotient(root: Element) -> tuple[int | None, int | None, int | None]:
    node = _child(root, "quotients")
    months = _children(node, "QFMOIS") if node is not None else []
    if not months:
        return None, None, None
    entries = [_month(month) for month in months]
    # Only one QFMOIS has ever been seen; should several come, the latest month is served.
    return max(entries, key=lambda entry: (entry[2] or 0, entry[1] or 0))


def _month(node: Element) -> tuple[int | None, int | None, int | None]:
    quotient = _integer(_text(node, "QUOTIENTF"), _SIGNED)
    month = _integer(_text(node, "DUMOIS"), _DIGITS)
    year = _integer(_text(node, "DELANNEE"), _DIGITS)
    if month is not None and not 1 <= month <= 12:
        raise ProviderBadResponse()
    return quotient, month, year


def _integer(value: str, pattern: re.Pattern[str]) -> int | None:
    if not value:
        return None
    if not pattern.match(value):
        raise ProviderBadResponse()
    return int(value)
