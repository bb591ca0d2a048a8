"""The SOAP 1.1 request of CNAF's ``demanderDocumentWeb`` (upstreams.md §2.2).

The shape has not changed since 2016: ``app``/``codeAppli`` ``WDD``, ``id`` a literal
question mark, ``typeDocument`` 4 (droits) and ``typeEnvoi`` 5 (compact ``drtData`` XML).
``matricule`` comes before ``codePostal``: the service has relied on that order since 2018.
Values are validated digits already, but they are escaped anyway so that the envelope stays
well-formed whatever a future caller passes.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "http://v1.ws.wsdemandedocumentcafweb.cnaf/"
# No SOAPAction: no client ever sent one and Axis2 routes on the body element.
CONTENT_TYPE = "text/xml; charset=utf-8"

_TEMPLATE = (
    '<soap:Envelope xmlns:soap="{soap}" xmlns:tns="{service}">'
    "<soap:Header/>"
    "<soap:Body>"
    "<tns:demanderDocumentWeb>"
    "<arg0>"
    "<app>WDD</app>"
    "<id>?</id>"
    "<beanEntreeDemandeDocumentWeb>"
    "<codeAppli>WDD</codeAppli>"
    "<matricule>{matricule}</matricule>"
    "<codePostal>{code_postal}</codePostal>"
    "<typeDocument>4</typeDocument>"
    "<typeEnvoi>5</typeEnvoi>"
    "</beanEntreeDemandeDocumentWeb>"
    "</arg0>"
    "</tns:demanderDocumentWeb>"
    "</soap:Body>"
    "</soap:Envelope>"
)


def request_envelope(numero_allocataire: str, code_postal: str) -> bytes:
    """The UTF-8 body to POST for one household."""
    xml = _TEMPLATE.format(
        soap=SOAP_NS,
        service=SERVICE_NS,
        matricule=escape(numero_allocataire),
        code_postal=escape(code_postal),
    )
    return ('<?xml version="1.0" encoding="utf-8"?>' + xml).encode("utf-8")
