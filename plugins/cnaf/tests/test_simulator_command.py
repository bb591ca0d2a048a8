from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from api_particulier_cnaf.simulator.cli import main
from api_particulier_cnaf.simulator.pki import TestPki
from api_particulier_cnaf.simulator.server import load_pki
from cryptography import x509


def test_pki_command_writes_a_usable_pki(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pki", str(tmp_path / "pki")]) == 0
    pki = load_pki(tmp_path / "pki")
    assert "client.pem" in capsys.readouterr().out
    assert (pki.client_key.stat().st_mode & 0o777) == 0o600
    server = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    # Both certificates load into real TLS contexts.
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(pki.client_cert, pki.client_key)


def test_serve_without_a_pki_explains_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--pki", str(tmp_path / "missing")]) == 2
    assert "pki" in capsys.readouterr().out


def test_the_session_pki_is_complete(pki: TestPki) -> None:
    for path in (pki.ca, pki.server_cert, pki.server_key, pki.client_cert, pki.client_key):
        assert path.read_bytes().startswith(b"-----BEGIN ")
