"""CNAF's answers as bytes on the wire, as Axis2 sends them (upstreams.md §2.3).

The ``drtData`` document is built with a real XML serializer (so ``&`` becomes ``&amp;``),
then put as *text* into ``fluxRetour`` (so ``&amp;`` becomes ``&amp;amp;`` on the wire),
exactly the double layer the live backend has to peel once, not twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring
from xml.sax.saxutils import escape

from ..models import ADDRESS_KEYS

SUCCESS_LABEL = (
    "Votre demande est bien enregistrée. Un document vous sera adressé à votre domicile "
    "dans les prochains jours."
)
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def drt_document(body: Mapping[str, Any]) -> str:
    """The ``drtData`` document CNAF would send for a contract §4 body."""
    root = Element("drtData")
    address = SubElement(root, "adresse")
    lines = body.get("adresse") or {}
    for number, key in enumerate(ADDRESS_KEYS, start=1):
        SubElement(address, f"LIBLIG{number}ADR").text = lines.get(key, "")
    children = SubElement(root, "identeEnfants")
    for child in body.get("enfants") or []:
        _person(SubElement(children, "UNENFANT"), child, None)
    persons = SubElement(root, "identePersonnes")
    for person in body.get("allocataires") or []:
        title = "Madame" if person["sexe"] == "F" else "Monsieur"
        _person(SubElement(persons, "UNEPERSONNE"), person, title)
    quotients = SubElement(root, "quotients")
    if body.get("quotientFamilial") is not None:
        month = SubElement(quotients, "QFMOIS")
        SubElement(month, "DUMOIS").text = str(body.get("mois") or "")
        SubElement(month, "DELANNEE").text = str(body.get("annee") or "")
        SubElement(month, "QUOTIENTF").text = str(body["quotientFamilial"])
    # Laid out like the recorded answers: indented, empty lines as start and end tags.
    indent(root, space="    ")
    text = tostring(root, encoding="unicode", short_empty_elements=False)
    return _DECLARATION + "\n" + text + "\n"


def _person(node: Element, person: Mapping[str, str], title: str | None) -> None:
    if title is not None:
        SubElement(node, "QUAL").text = title
    SubElement(node, "NOMPRENOM").text = person["nomPrenom"]
    SubElement(node, "DATNAISS").text = person["dateDeNaissance"]
    SubElement(node, "SEXE").text = person["sexe"]


def envelope(code: int, flux: str | None, label: str = SUCCESS_LABEL) -> str:
    """The SOAP envelope of an answer; ``flux`` is the inner document, escaped here as text."""
    flux_element = "" if flux is None else f"<fluxRetour>{escape(flux, {'>': '&gt;'})}</fluxRetour>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body>"
        '<ns2:demanderDocumentWebResponse xmlns:ns2="http://v1.ws.wsdemandedocumentcafweb.cnaf/">'
        "<return><beanRetourDemandeDocumentWeb>"
        f"<codeRetour>{code}</codeRetour>{flux_element}"
        f"<libelleRetour>{escape(label)}</libelleRetour>"
        "</beanRetourDemandeDocumentWeb></return>"
        "</ns2:demanderDocumentWebResponse>"
        "</soapenv:Body></soapenv:Envelope>"
    )


def success_envelope(body: Mapping[str, Any]) -> str:
    return envelope(0, drt_document(body))


def error_envelope(code: int) -> str:
    # On refusals CNAF sends only an escaped XML declaration, and a label not to rely on.
    return envelope(code, _DECLARATION + "\n")


def soap_fault(text: str = "Internal Error") -> bytes:
    """A SOAP 1.1 fault, as Axis2 sends it with HTTP 500 (plain text/xml, no MTOM)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode>"
        f"<faultstring>{escape(text)}</faultstring><detail/></soapenv:Fault>"
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def mtom(envelope_xml: str, *, line_end: bytes = b"\r\n") -> tuple[bytes, str]:
    """The body and ``Content-Type`` of an MTOM/XOP answer carrying ``envelope_xml``."""
    token = secrets.token_hex(24)
    boundary = f"MIMEBoundary_{token}"
    content_id = f"<0.{secrets.token_hex(24)}@apache.org>"
    head = line_end.join(
        [
            f"--{boundary}".encode(),
            b'Content-Type: application/xop+xml; charset=utf-8; type="text/xml"',
            b"Content-Transfer-Encoding: binary",
            f"Content-ID: {content_id}".encode(),
            b"",
            b"",
        ]
    )
    body = head + envelope_xml.encode() + line_end + f"--{boundary}--".encode() + line_end
    content_type = (
        f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
        f'start="{content_id}"; start-info="text/xml"'
    )
    return body, content_type
