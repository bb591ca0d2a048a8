"""read_body and read_form: a plugin route reads at most its bound, whether or not the
request says its length (a chunked body does not), and a form that cannot be parsed is a
400 with the contract's error body, not a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from api_particulier import WebRoute, hookimpl, json_response, read_body, read_form
from api_particulier.testing import app_client, chunked, make_settings
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

pytestmark = pytest.mark.anyio
BOUND = 1024
read_sizes: list[int] = []
uploads: list[tuple[UploadFile, bool]] = []


async def body_route(request: Request) -> Response:
    body = await read_body(request, BOUND)
    read_sizes.append(len(body))
    return json_response({"size": len(body)})


async def form_route(request: Request) -> Response:
    form = await read_form(request, BOUND, max_files=1, max_fields=3)
    upload = form.get("file")
    if isinstance(upload, UploadFile):
        uploads.append((upload, upload.file.closed))
    return json_response({name: value for name, value in form.items() if isinstance(value, str)})


class BodiesPlugin:
    @hookimpl
    def register_routes(self, register: Any, config: Any) -> None:
        register(WebRoute(path="/body", endpoint=body_route, methods=("POST",)))
        register(WebRoute(path="/form", endpoint=form_route, methods=("POST",)))


async def test_bodies_within_and_past_the_bound(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path), plugins={"bodies": BodiesPlugin()}) as client:
        http: httpx.AsyncClient = client.http
        small = await http.post("/body", content=b"x" * BOUND)
        assert small.json() == {"size": BOUND}

        declared = await http.post("/body", content=b"x" * (BOUND + 1))
        assert declared.status_code == 413
        assert declared.json()["error"] == "payload_too_large"
        assert "x-request-id" in declared.headers

        # Chunked: no Content-Length; refused once the bound is passed, not at the end.
        read_sizes.clear()
        unsized = await http.post("/body", content=chunked(BOUND * 100, size=256))
        assert unsized.status_code == 413
        assert unsized.json()["error"] == "payload_too_large"
        assert read_sizes == []
        assert (await http.post("/body", content=chunked(BOUND, size=256))).json() == {
            "size": BOUND
        }

        bad_length = await http.post("/body", content=b"x", headers={"content-length": "1x"})
        assert bad_length.status_code in (400, 413)


async def test_forms(tmp_path: Path) -> None:
    async with app_client(make_settings(tmp_path), plugins={"bodies": BodiesPlugin()}) as client:
        http: httpx.AsyncClient = client.http
        assert (await http.post("/form", data={"a": "1", "b": "é"})).json() == {"a": "1", "b": "é"}

        # Starlette bounds the fields of a multipart form (an URL-encoded one is bounded by
        # its bytes).
        too_many = await http.post(
            "/form",
            data={"a": "1", "b": "2", "c": "3", "d": "4"},
            files={"file": ("f.txt", b"hi")},
        )
        assert too_many.status_code == 400
        assert too_many.json()["error"] == "bad_request"

        malformed = await http.post(
            "/form",
            content=b"garbage",
            headers={"content-type": "multipart/form-data; boundary=zzz"},
        )
        assert malformed.status_code == 400
        assert malformed.json()["error"] == "bad_request"

        too_large = await http.post("/form", data={"a": "x" * (BOUND + 1)})
        assert too_large.status_code == 413

        # An uploaded file is open while the route runs, and closed once it has answered.
        uploads.clear()
        uploaded = await http.post("/form", data={"a": "1"}, files={"file": ("f.txt", b"hi")})
        assert uploaded.status_code == 200
        ((upload, closed_while_running),) = uploads
        assert not closed_while_running
        assert upload.file.closed
