"""Reading a request body within a bound, for a plugin's own routes.

``Content-Length`` alone does not bound a body: a chunked request has none, and Starlette's
``request.body()`` and ``request.form()`` read whatever arrives. These read at most
``max_bytes``, counting as the body arrives, and refuse the rest with ``HTTPException``:
413 past the bound, 400 for a form that cannot be parsed. Answered by the service's
exception handler, both carry the contract's error body; a page that would rather show
its own refusal catches ``HTTPException``. A form's uploaded files are closed when the
route has answered.
"""

from __future__ import annotations

from python_multipart.exceptions import FormParserError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message, Scope

# Where the forms read during a request are kept until it ends.
_FORMS = "api_particulier.forms"


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The whole body, or ``HTTPException(413)`` as soon as it is known to be longer than
    ``max_bytes`` (from ``Content-Length`` before anything is read, else while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and (
        not (declared.isascii() and declared.isdigit()) or int(declared) > max_bytes
    ):
        raise HTTPException(413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HTTPException(413)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(
    request: Request,
    max_bytes: int,
    *,
    max_files: int = 0,
    max_fields: int = 100,
    max_part_size: int = 64 * 1024,
) -> FormData:
    """The posted form (URL-encoded or multipart), read within ``max_bytes``: 413 past it,
    400 when it cannot be parsed or holds more files, fields or bytes per part than
    allowed."""
    body = await read_body(request, max_bytes)
    sent = False

    async def replay() -> Message:
        # The body read above, once, for Starlette's parser; then the end of the request.
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    # Starlette answers a form it cannot parse with HTTPException(400) when it runs in an
    # application, and raises its parser's exception otherwise: the same answer for both.
    try:
        form = await Request(request.scope, replay).form(
            max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
        )
    except (MultiPartException, FormParserError) as exc:
        # Starlette's own refusals (too many fields or files), and the parser's (a
        # multipart body that does not follow its boundary).
        raise HTTPException(400) from exc
    # Its uploaded files are closed once the route has answered (see close_forms).
    request.scope.setdefault(_FORMS, []).append(form)
    return form


async def close_forms(scope: Scope) -> None:
    """Close the files of the forms read during the request of ``scope``."""
    for form in scope.pop(_FORMS, ()):
        await form.close()
