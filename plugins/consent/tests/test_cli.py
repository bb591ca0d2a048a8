"""`api-particulier consent`, against the same store a running app reads."""

from __future__ import annotations

import json
from pathlib import Path

import anyio.to_thread
import pytest
from api_particulier.cli import main

from .support import ALL_SCOPES, PARAMS, ed25519, harness, leaves, p256

pytestmark = pytest.mark.anyio
RFR = "dgfip_revenu_fiscal_reference"


async def run(*argv: str) -> int:
    return await anyio.to_thread.run_sync(main, ["consent", *argv])


async def test_policy_add_key_and_sign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("API_PARTICULIER_CONFIG", raising=False)
    signer, other = ed25519(), p256()
    private = tmp_path / "signing.pem"
    private.write_bytes(signer.as_pem(private=True))
    (tmp_path / "signing.pub.pem").write_bytes(signer.as_pem(private=False))
    (tmp_path / "other.jwk").write_text(json.dumps(other.as_dict(private=False)))

    async with harness(tmp_path) as h:
        key = await h.client.key(ALL_SCOPES, name="mairie-de-test")
        capsys.readouterr()

        # Receipts cannot be demanded before a key can verify them.
        assert await run("policy", "mairie-de-test", "--accept", "receipt") == 2
        assert "no public key" in capsys.readouterr().err

        assert await run("add-key", "mairie-de-test", str(tmp_path / "signing.pub.pem")) == 0
        kid = capsys.readouterr().out.strip()
        assert kid == signer.thumbprint()
        assert (
            await run("add-key", "mairie-de-test", str(tmp_path / "other.jwk"), "--kid", "ec") == 0
        )
        assert capsys.readouterr().out.strip() == "ec"
        assert await run("add-key", "mairie-de-test", str(private)) == 2
        assert "private" in capsys.readouterr().err

        assert await run("policy", "mairie-de-test", "--accept", "receipt") == 0
        capsys.readouterr()
        params = [f"--param={name}={value}" for name, value in PARAMS.items()]
        assert await run(
            "sign", "--private-key", str(private), "--kid", kid,
            "--scope", RFR, "--purpose", "Tarification de la cantine", *params,
        ) == 0  # fmt: skip
        receipt = capsys.readouterr().out.strip()

        assert (await h.get(key)).json()["error"] == "consent_required"
        response = await h.get(key, headers={"X-Consent-Receipt": receipt})
        assert response.status_code == 200, response.text
        assert leaves(response.json()) == {RFR}


async def test_unknown_application(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("API_PARTICULIER_CONFIG", raising=False)
    assert await run("policy", "nobody", "--accept", "identifiers") == 2
    assert "no application" in capsys.readouterr().err
