"""The parser against the recorded answers (README of upstream-samples/cnaf-soap) and
against the hostile inputs a hardened parser must refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_particulier import ProviderBadRequest, ProviderBadResponse, ProviderUnavailable
from api_particulier_cnaf.parser import MAX_BODY_BYTES, parse_answer, parse_document
from api_particulier_cnaf.simulator import wire

DATA = Path(__file__).parent / "data"

CROUTE_ADDRESS = {
    "identite": "Madame JEANNE CROUTE",
    "numeroRue": "23 RUE DES ROSIERS",
    "codePostalVille": "75002 PARIS",
    "pays": "FRANCE",
}
CROUTE_CHILDREN = [
    {"nomPrenom": "MICHEL CROUTE", "dateDeNaissance": "04032015", "sexe": "M"},
    {"nomPrenom": "MICHELINE CROUTE", "dateDeNaissance": "11022017", "sexe": "F"},
]
CROUTE_PARENTS = [
    {"nomPrenom": "JEANNE CROUTE", "dateDeNaissance": "05031988", "sexe": "F"},
    {"nomPrenom": "JEAN CROUTE", "dateDeNaissance": "03051989", "sexe": "M"},
]

# What each current-generation sample must give, as its README says.
EXPECTED: dict[str, dict[str, Any]] = {
    "ok-two-allocataires-two-enfants.multipart.txt": {
        "allocataires": CROUTE_PARENTS,
        "enfants": CROUTE_CHILDREN,
        "adresse": CROUTE_ADDRESS,
        "quotientFamilial": 2057,
        "mois": 5,
        "annee": 2021,
    },
    "ok-single-allocataire.multipart.txt": {
        "allocataires": [{"nomPrenom": "JEAN CROUTE", "dateDeNaissance": "28051984", "sexe": "F"}],
        "enfants": CROUTE_CHILDREN,
        "adresse": CROUTE_ADDRESS,
        "quotientFamilial": 672,
        "mois": 7,
        "annee": 2021,
    },
    "ok-empty-quotients.multipart.txt": {
        "allocataires": CROUTE_PARENTS,
        "enfants": CROUTE_CHILDREN,
        "adresse": CROUTE_ADDRESS,
        "quotientFamilial": None,
        "mois": None,
        "annee": None,
    },
    "ok-2017-recette-lt-only-escaping.multipart.txt": {
        "allocataires": [
            {"nomPrenom": "MARIE DUPONT", "dateDeNaissance": "12111988", "sexe": "F"},
            {"nomPrenom": "JEAN DUPONT", "dateDeNaissance": "18101988", "sexe": "M"},
        ],
        "enfants": [{"nomPrenom": "BENJAMINE DUPONT", "dateDeNaissance": "10082016", "sexe": "M"}],
        "adresse": {
            "identite": "Madame MARIE DUPONT",
            "complementIdentiteGeo": "ESCALIER B",
            "numeroRue": "123 RUE BIDON",
            "codePostalVille": "12345 CONDAT",
            "pays": "FRANCE",
        },
        "quotientFamilial": 1998,
        "mois": 4,
        "annee": 2017,
    },
}

# The one header recorded with a sample (api-caf's test, 2017).
HEADER_2017 = (
    'multipart/related; boundary="MIMEBoundaryurn_uuid_D555A7429610CCCBBB1493716971820"; '
    'type="application/xop+xml"; '
    'start="<0.urn:uuid:9BA817A2C44B237B741493717501717@apache.org>"; start-info="text/xml"'
)


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def header_for(body: bytes) -> str:
    """The Content-Type Axis2 sends with a body: its boundary, taken from the first line."""
    boundary = body.split(b"\n", 1)[0].strip()[2:].decode()
    return f'multipart/related; boundary="{boundary}"; type="application/xop+xml"'


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("with_header", [True, False])
def test_every_success_sample_parses_as_its_readme_says(name: str, with_header: bool) -> None:
    body = read(name)
    assert parse_answer(body, header_for(body) if with_header else None) == EXPECTED[name]


def test_the_2017_sample_with_its_recorded_header() -> None:
    body = read("ok-2017-recette-lt-only-escaping.multipart.txt")
    assert b"\r\n" in body
    expected = EXPECTED["ok-2017-recette-lt-only-escaping.multipart.txt"]
    assert parse_answer(body, HEADER_2017) == expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_crlf_and_lf_framings_give_the_same_result(name: str) -> None:
    body = read(name).replace(b"\r\n", b"\n")
    crlf = body.replace(b"\n", b"\r\n")
    assert parse_answer(crlf, header_for(crlf)) == parse_answer(body, None) == EXPECTED[name]


def test_the_ko_sample_is_an_unknown_code_503() -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        parse_answer(read("ko-code-retour-4.multipart.txt"), None)
    assert caught.value.status == 503
    assert caught.value.reason == "Unknown error code 4"
    assert caught.value.message == "Erreur inconnue du fournisseur de donnée CAF"


def test_legacy_error_codes_map_by_family() -> None:
    with pytest.raises(ProviderBadRequest):
        parse_answer(read("legacy-2016/error-code-196.multipart.txt"), None)
    with pytest.raises(ProviderUnavailable) as caught:
        parse_answer(read("legacy-2016/error-code-253.multipart.txt"), None)
    assert caught.value.reason.endswith("Des paramètres manquent.")
    # No fluxRetour element at all on a refusal: the code alone decides.
    with pytest.raises(ProviderUnavailable) as caught:
        parse_answer(read("legacy-2016/pdf-error-code-231-no-flux.multipart.txt"), None)
    assert caught.value.reason == "Problème technique avec le service trafic"


@pytest.mark.parametrize(
    "name",
    [
        "legacy-2016/flux-trafic-ok-qf-345.multipart.txt",
        "legacy-2016/pdf-ok-mtom-attachment.multipart.txt",
    ],
)
def test_documents_of_another_kind_are_unusable(name: str) -> None:
    with pytest.raises(ProviderBadResponse):
        parse_answer(read(name), None)


def test_an_ampersand_in_a_name_survives_the_two_parses() -> None:
    body = {
        "allocataires": [{"nomPrenom": "MARTIN MARIE", "dateDeNaissance": "25021969", "sexe": "F"}],
        "enfants": [],
        "adresse": {"identite": "MARTIN MARIE & PIERRE", "complementIdentite": "A &amp; B <C>"},
        "quotientFamilial": 740,
        "mois": 7,
        "annee": 2023,
    }
    raw, content_type = wire.mtom(wire.success_envelope(body))
    assert b"&amp;amp;" in raw
    assert parse_answer(raw, content_type) == body


def test_a_quotient_of_zero_stays_zero() -> None:
    document = (
        "<drtData><adresse><LIBLIG1ADR>X</LIBLIG1ADR></adresse>"
        "<identePersonnes><UNEPERSONNE><NOMPRENOM>A B</NOMPRENOM><DATNAISS>01012000</DATNAISS>"
        "<SEXE>F</SEXE></UNEPERSONNE></identePersonnes><identeEnfants/>"
        "<quotients><QFMOIS><DUMOIS>3</DUMOIS><DELANNEE>2025</DELANNEE>"
        "<QUOTIENTF>0</QUOTIENTF></QFMOIS></quotients></drtData>"
    )
    parsed = parse_document(document)
    assert (parsed["quotientFamilial"], parsed["mois"], parsed["annee"]) == (0, 3, 2025)
    assert parsed["enfants"] == []


def test_a_soap_fault_is_a_503() -> None:
    with pytest.raises(ProviderUnavailable):
        parse_answer(wire.soap_fault(), "text/xml; charset=utf-8")


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'>"
    b"<soapenv:Body>&lol2;</soapenv:Body></soapenv:Envelope>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<soapenv:Envelope xmlns:soapenv='http://schemas.xmlsoap.org/soap/envelope/'>"
    b"<soapenv:Body>&xxe;</soapenv:Body></soapenv:Envelope>"
)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        b"<html><body>Service indisponible</body></html>",
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        b"--MIMEBoundary_x\r\n\r\n",
        b"--MIMEBoundary_x--\r\n",
        b"x" * (MAX_BODY_BYTES + 1),
    ],
)
def test_unusable_answers_are_502(body: bytes) -> None:
    with pytest.raises(ProviderBadResponse):
        parse_answer(body, None)


def test_entities_inside_the_inner_document_are_refused() -> None:
    inner = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "boom">]><drtData>&e;</drtData>'
    raw, content_type = wire.mtom(wire.envelope(0, inner))
    with pytest.raises(ProviderBadResponse):
        parse_answer(raw, content_type)


@pytest.mark.parametrize(
    "document",
    [
        "<autre/>",
        "<drtData><adresse/><identePersonnes/></drtData>",  # no allocataire
        "<drtData><identePersonnes><UNEPERSONNE><NOMPRENOM>A</NOMPRENOM>"
        "<DATNAISS>01012000</DATNAISS><SEXE>F</SEXE></UNEPERSONNE></identePersonnes></drtData>",
        "<drtData><adresse/><identePersonnes><UNEPERSONNE><NOMPRENOM>A</NOMPRENOM>"
        "<DATNAISS>31022000</DATNAISS><SEXE>F</SEXE></UNEPERSONNE></identePersonnes></drtData>",
        "<drtData><adresse/><identePersonnes><UNEPERSONNE><NOMPRENOM>A</NOMPRENOM>"
        "<DATNAISS>01012000</DATNAISS><SEXE>X</SEXE></UNEPERSONNE></identePersonnes></drtData>",
        "<drtData><adresse/><identePersonnes><UNEPERSONNE><NOMPRENOM>A</NOMPRENOM>"
        "<DATNAISS>01012000</DATNAISS><SEXE>F</SEXE></UNEPERSONNE></identePersonnes>"
        "<quotients><QFMOIS><DUMOIS>13</DUMOIS><QUOTIENTF>1</QUOTIENTF></QFMOIS></quotients>"
        "</drtData>",
        "<drtData><adresse/><identePersonnes><UNEPERSONNE><NOMPRENOM>A</NOMPRENOM>"
        "<DATNAISS>01012000</DATNAISS><SEXE>F</SEXE></UNEPERSONNE></identePersonnes>"
        "<quotients><QFMOIS><QUOTIENTF>12,5</QUOTIENTF></QFMOIS></quotients></drtData>",
    ],
)
def test_broken_inner_documents_are_502(document: str) -> None:
    with pytest.raises(ProviderBadResponse):
        parse_document(document)


@pytest.mark.parametrize("code", ["", "abc", "-1", "0x1", "1234567890123"])
def test_a_malformed_return_code_is_502(code: str) -> None:
    raw, content_type = wire.mtom(
        wire.envelope(0, None).replace("<codeRetour>0<", f"<codeRetour>{code}<")
    )
    with pytest.raises(ProviderBadResponse):
        parse_answer(raw, content_type)


def test_success_without_a_document_is_502() -> None:
    for flux in (None, "", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'):
        raw, content_type = wire.mtom(wire.envelope(0, flux))
        with pytest.raises(ProviderBadResponse):
            parse_answer(raw, content_type)
