"""The journal_subject hook: the citizen's pseudonym in the row, the first given wins, a
failing implementation costs the row nothing but its pseudonym; the scopes asked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_particulier import Call, hookimpl
from api_particulier.testing import EchoProvider, app_client, make_settings
from api_particulier.testing.echo import GOOD_PARAMS

pytestmark = pytest.mark.anyio


class Naming:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.seen: list[dict[str, str]] = []

    @hookimpl
    def journal_subject(self, call: Call) -> Any:
        self.seen.append(call.citizen())
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


async def rows(tmp_path: Path, plugins: dict[str, object], params: dict[str, str]) -> Any:
    settings = make_settings(tmp_path, enabled=list(plugins))
    async with app_client(settings, plugins=plugins) as client:
        key = await client.key(["echo_nom", "echo_revenu"])
        await client.http.get("/api/v2/echo", params=params, headers={"x-api-key": key})
        await client.http.get("/api/introspect", headers={"x-api-key": key})
        await client.app.journal.flush()
        return await client.app.journal_store.recent_calls(10)


async def test_the_first_pseudonym_given_is_written(tmp_path: Path) -> None:
    first, second = Naming(None), Naming("pseudonym-of-12345")
    plugins = {"echo": EchoProvider(), "a_first": first, "b_second": second}
    introspect, data = await rows(tmp_path, plugins, {**GOOD_PARAMS, "numero": "123 45"})
    assert data.subject == "pseudonym-of-12345"
    assert data.scopes == "echo_nom echo_revenu"
    # The validated parameters (spaces removed), every one of them by default.
    assert second.seen == [{"numero": "12345", "code": "AB"}]
    # Core routes name nobody.
    assert (introspect.subject, introspect.scopes) == (None, None)


async def test_a_failing_implementation_leaves_the_row_without_a_pseudonym(
    tmp_path: Path,
) -> None:
    failing = Naming(RuntimeError("boom"))
    _, data = await rows(tmp_path, {"echo": EchoProvider(), "n": failing}, GOOD_PARAMS)
    assert data.status == 200 and data.subject is None
    assert data.scopes == "echo_nom echo_revenu"


async def test_invalid_parameters_name_nobody(tmp_path: Path) -> None:
    naming = Naming("x")
    _, data = await rows(tmp_path, {"echo": EchoProvider(), "n": naming}, {"numero": "1"})
    assert data.status == 400
    assert (data.subject, data.scopes) == (None, None)
    assert naming.seen == []
