"""`api-particulier habilitation`: instructors, the list of requests, one request, and the
instructor's actions, on the store the running service reads."""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import pytest
from api_particulier.cli import main

from .support import REQUESTER, csrf, filled, request_id_of, service, settings_for, sign_in

pytestmark = pytest.mark.anyio


async def run(*argv: str) -> int:
    return await anyio.to_thread.run_sync(main, ["habilitation", *argv])


async def test_operators_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_PARTICULIER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("API_PARTICULIER_CONFIG", raising=False)
    async with service(settings_for(tmp_path)) as c:
        await sign_in(c.http, tmp_path, REQUESTER)
        page = await c.http.get("/habilitation/demandes/nouvelle?profil=administration")
        request_id = request_id_of(page)
        await c.http.post(
            "/habilitation/demandes/nouvelle",
            data=filled(csrf=csrf(page), request_id=request_id, action="brouillon"),
        )
        capsys.readouterr()

        assert await run("instructor", "add", "Chef@Exemple.gouv.fr") == 0
        assert await run("instructor", "add", "chef@exemple.gouv.fr") == 0
        assert "already an instructor" in capsys.readouterr().out
        assert await run("instructor", "list") == 0
        assert capsys.readouterr().out.split() == ["chef@exemple.gouv.fr"]
        assert await run("instructor", "add", "pas-une-adresse") == 1

        # A draft cannot be validated: the reason, status 1, nothing changed.
        assert await run("validate", request_id) == 1
        assert "Brouillon" in capsys.readouterr().err
        assert await run("list", "--state", "draft") == 0
        assert request_id in capsys.readouterr().out
        assert await run("list", "--state", "submitted") == 0
        assert request_id not in capsys.readouterr().out

        # Submitted from the page, then sent back, then refused from the command line.
        page = await c.http.get(f"/habilitation/demandes/{request_id}")
        await c.http.post(
            f"/habilitation/demandes/{request_id}",
            data=filled(csrf=csrf(page), action="soumettre"),
        )
        assert await run("request-changes", request_id, "--message", "Précisez le texte") == 0
        assert f"{request_id}: changes_requested" in capsys.readouterr().out
        assert await run("refuse", request_id) != 0  # the reason is required
        assert await run("refuse", request_id, "--message", "Hors du cadre") == 0
        assert await run("show", request_id) == 0
        shown = capsys.readouterr().out
        assert "refused" in shown and "Précisez le texte" in shown and "Hors du cadre" in shown
        assert await run("show", "inconnue") == 1
        assert await run("instructor", "remove", "chef@exemple.gouv.fr") == 0
