from __future__ import annotations

from api_particulier_cnaf.envelope import SERVICE_NS, SOAP_NS, request_envelope
from defusedxml.ElementTree import fromstring


def test_the_request_has_the_historic_shape_and_order() -> None:
    root = fromstring(request_envelope("0012345", "13001"))
    assert root.tag == f"{{{SOAP_NS}}}Envelope"
    header, body = list(root)
    assert header.tag == f"{{{SOAP_NS}}}Header" and len(header) == 0
    (call,) = list(body)
    assert call.tag == f"{{{SERVICE_NS}}}demanderDocumentWeb"
    (arg0,) = list(call)
    assert arg0.tag == "arg0"
    assert [child.tag for child in arg0] == ["app", "id", "beanEntreeDemandeDocumentWeb"]
    assert arg0.findtext("app") == "WDD" and arg0.findtext("id") == "?"
    bean = arg0.find("beanEntreeDemandeDocumentWeb")
    assert bean is not None
    assert [(child.tag, child.text) for child in bean] == [
        ("codeAppli", "WDD"),
        ("matricule", "0012345"),
        ("codePostal", "13001"),
        ("typeDocument", "4"),
        ("typeEnvoi", "5"),
    ]


def test_values_are_escaped() -> None:
    root = fromstring(request_envelope("1<2&3", "a>b"))
    assert root.findtext(".//matricule") == "1<2&3"
    assert root.findtext(".//codePostal") == "a>b"
