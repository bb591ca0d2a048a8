"""Who is who: sessions in signed cookies, CSRF tokens, single-use sign-in links.

A session cookie is signed (itsdangerous), ``HttpOnly`` and ``SameSite=Lax``, ``Secure``
when the service is reached over HTTPS; it holds the signed-in address (or none) and a
random nonce, and when it was signed in: signing out records the time for the address,
and every session of that address signed in before is over. Every form carries
``HMAC(secret, nonce)`` as its CSRF token, so a page of another site cannot post one.
Signing in changes the nonce. A sign-in link is 32 random bytes, kept only as its SHA-256,
valid 15 minutes and once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "habilitation_session"
LINK_TTL = 15 * 60.0


@dataclass
class Session:
    email: str | None
    nonce: str
    changed: bool = field(default=False)
    # When the session was signed in (Unix seconds); a sign-out after it ends it.
    signed_in_at: float = 0.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Sessions:
    def __init__(self, secret: str, *, max_age: float, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="habilitation-session")
        self._csrf_key = hashlib.sha256(("csrf:" + secret).encode("utf-8")).digest()
        self._client_key = hashlib.sha256(("client:" + secret).encode("utf-8")).digest()
        self.max_age = max_age
        self.secure = secure

    def read(self, request: Request) -> Session:
        """The request's session; a new anonymous one when it has none (or a bad one)."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._serializer.loads(raw, max_age=int(self.max_age))
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("n"), str):
                email = data.get("e")
                since = data.get("s")
                return Session(
                    email=email if isinstance(email, str) else None,
                    nonce=data["n"],
                    signed_in_at=float(since) if isinstance(since, int | float) else 0.0,
                )
        return Session(email=None, nonce=secrets.token_urlsafe(16), changed=True)

    def sign_in(self, session: Session, email: str) -> None:
        session.email = email
        session.nonce = secrets.token_urlsafe(16)
        session.signed_in_at = time.time()
        session.changed = True

    def sign_out(self, session: Session) -> None:
        """This browser's session ends (the site records the sign-out for the others)."""
        session.email = None
        session.nonce = secrets.token_urlsafe(16)
        session.changed = True

    def store(self, session: Session, response: Response) -> Response:
        if session.changed:
            response.set_cookie(
                COOKIE,
                self._serializer.dumps(
                    {"e": session.email, "n": session.nonce, "s": session.signed_in_at}
                ),
                max_age=int(self.max_age),
                path="/",
                httponly=True,
                samesite="lax",
                secure=self.secure,
            )
        return response

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.nonce.encode("utf-8"), hashlib.sha256).hexdigest()

    def csrf_valid(self, session: Session, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(self.csrf_token(session), token)

    def client(self, request: Request) -> str:
        """The client's address, keyed (the rate limit's second key), never stored plain."""
        host = request.client.host if request.client else "?"
        return hmac.new(self._client_key, host.encode("utf-8"), hashlib.sha256).hexdigest()
