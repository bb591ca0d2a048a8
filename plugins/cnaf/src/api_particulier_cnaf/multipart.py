"""Extraction of the SOAP envelope from CNAF's MTOM/XOP ``multipart/related`` answers.

Axis2 wraps the envelope in a MIME part (upstreams.md §2.3). Raw captures use CRLF as MIME
requires, but re-saved copies use LF, so both are accepted. The boundary is read from the
``Content-Type`` header when there is one, else from the body's first line; an answer that is
not multipart (a plain ``text/xml`` SOAP fault, say) is returned as it is.
"""

from __future__ import annotations

import re

from api_particulier import ProviderBadResponse

# A boundary per RFC 2046: 1 to 70 characters from a restricted set.
_BOUNDARY_PARAM = re.compile(r'boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))', re.IGNORECASE)
_FIRST_LINE_BOUNDARY = re.compile(rb"--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?\n")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def boundary_from_header(content_type: str | None) -> bytes | None:
    if not content_type or "multipart/" not in content_type.lower():
        return None
    match = _BOUNDARY_PARAM.search(content_type)
    if match is None:
        return None
    try:
        return (match.group(1) or match.group(2)).encode("ascii")
    except UnicodeEncodeError:
        return None


def root_part(body: bytes, content_type: str | None) -> bytes:
    """The bytes of the root part (the SOAP envelope), without its MIME headers."""
    boundary = boundary_from_header(content_type)
    if boundary is None:
        stripped = body.lstrip()
        match = _FIRST_LINE_BOUNDARY.match(stripped)
        if match is None:
            # Not multipart at all: a bare XML answer.
            return body
        boundary, body = match.group(1), stripped
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start < 0:
        raise ProviderBadResponse()
    # The root part is the first one; Axis2 always sends the envelope first.
    part_start = start + len(delimiter)
    part_end = body.find(delimiter, part_start)
    # A missing closing delimiter is tolerated: the envelope's own end tag is checked later.
    part = body[part_start:] if part_end < 0 else body[part_start:part_end]
    if part.startswith(b"--"):
        # The first delimiter is the closing one: no part at all.
        raise ProviderBadResponse()
    headers_end = _HEADER_END.search(part)
    if headers_end is None:
        raise ProviderBadResponse()
    content = part[headers_end.end() :]
    # The line break before the next delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    if content.endswith(b"\r\n"):
        content = content[:-2]
    elif content.endswith(b"\n"):
        content = content[:-1]
    return content
