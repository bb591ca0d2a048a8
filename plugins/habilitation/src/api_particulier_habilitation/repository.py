"""The plugin's tables, through ``context.database``: one statement serves SQLite and
PostgreSQL.

An event and the state it leads to are written in one transaction, the event numbered
after the request's version: of two actors acting on the same version (two instructors,
a form posted twice) the second finds that number taken, and nothing of its own is kept.
Events are only ever inserted: the timeline is what happened.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from api_particulier import StoreDatabase

from .form import RequestForm
from .states import Event, Role, State


class RequestRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    requester_email: str
    state: State
    version: int
    form: RequestForm
    snapshot: RequestForm | None
    application_id: str | None
    datapass_id: str | None
    created_at: float
    updated_at: float


class EventRecord(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    event: Event
    role: Role
    actor: str
    at: float
    message: str | None


class DocumentInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    filename: str
    size: int
    uploaded_at: float


class Reveal(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    application_id: str
    request_id: str | None
    key_expires_at: float | None
    expires_at: float
    revealed_at: float | None


# How long a DataPass delivery's digest and answer are kept to recognise its retries.
DELIVERIES_KEPT = 30 * 86400
# A delivery claimed this long ago and never answered (its handler died with its process)
# is handled again by the next copy: DataPass would otherwise meet 409 until it gives up.
DELIVERY_LEASE = 120.0

_REQUEST_COLUMNS = (
    "id, requester_email, state, version, form, snapshot, application_id, datapass_id, "
    "created_at, updated_at"
)
_REVEAL_COLUMNS = "id, application_id, request_id, key_expires_at, expires_at, revealed_at"
_encode = msgspec.json.encode


def _request(row: Sequence[Any]) -> RequestRecord:
    return RequestRecord(
        id=row[0],
        requester_email=row[1],
        state=State(row[2]),
        version=row[3],
        form=msgspec.json.decode(row[4], type=RequestForm),
        snapshot=msgspec.json.decode(row[5], type=RequestForm) if row[5] else None,
        application_id=row[6],
        datapass_id=row[7],
        created_at=row[8],
        updated_at=row[9],
    )


def _reveal(row: Sequence[Any]) -> Reveal:
    return Reveal(
        id=row[0],
        application_id=row[1],
        request_id=row[2],
        key_expires_at=row[3],
        expires_at=row[4],
        revealed_at=row[5],
    )


class Repository:
    def __init__(self, database: StoreDatabase) -> None:
        self.db = database

    # -- requests and their events ---------------------------------------------------------

    async def create(
        self,
        request_id: str,
        requester_email: str,
        form: RequestForm,
        at: float,
        *,
        role: Role = Role.requester,
        datapass_id: str | None = None,
    ) -> bool:
        """A new draft with its ``create`` event; False when the id is taken already (the
        same form posted twice)."""
        try:
            await self.db.execute_all(
                [
                    (
                        f"INSERT INTO habilitation_requests ({_REQUEST_COLUMNS}) VALUES "  # noqa: S608
                        "(:id, :email, :state, 1, :form, NULL, NULL, :datapass_id, :at, :at)",
                        {
                            "id": request_id,
                            "email": requester_email,
                            "state": State.draft.value,
                            "form": _encode(form).decode(),
                            "datapass_id": datapass_id,
                            "at": at,
                        },
                    ),
                    _event_insert(request_id, 1, Event.create, role, requester_email, at, None),
                ]
            )
        except sa.exc.IntegrityError:
            return False
        return True

    async def get(self, request_id: str) -> RequestRecord | None:
        rows = await self.db.fetch_all(
            f"SELECT {_REQUEST_COLUMNS} FROM habilitation_requests WHERE id = :id",  # noqa: S608
            {"id": request_id},
        )
        return _request(rows[0]) if rows else None

    async def by_datapass(self, datapass_id: str) -> RequestRecord | None:
        rows = await self.db.fetch_all(
            f"SELECT {_REQUEST_COLUMNS} FROM habilitation_requests "  # noqa: S608
            "WHERE datapass_id = :id",
            {"id": datapass_id},
        )
        return _request(rows[0]) if rows else None

    async def list_requests(
        self, *, requester: str | None = None, state: State | None = None
    ) -> list[RequestRecord]:
        clauses, params = [], {}
        if requester is not None:
            clauses.append("requester_email = :requester")
            params["requester"] = requester
        if state is not None:
            clauses.append("state = :state")
            params["state"] = state.value
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        rows = await self.db.fetch_all(
            f"SELECT {_REQUEST_COLUMNS} FROM habilitation_requests {where}"  # noqa: S608
            "ORDER BY updated_at DESC",
            params,
        )
        return [_request(row) for row in rows]

    async def save_form(self, request_id: str, form: RequestForm, at: float) -> bool:
        """Replace the form of an editable request; False when it is not editable."""
        changed = await self.db.execute(
            "UPDATE habilitation_requests SET form = :form, updated_at = :at "
            "WHERE id = :id AND state IN ('draft', 'changes_requested')",
            {"id": request_id, "form": _encode(form).decode(), "at": at},
        )
        return changed == 1

    async def record_event(
        self,
        request: RequestRecord,
        event: Event,
        role: Role,
        actor: str,
        at: float,
        message: str | None,
        target: State,
        *,
        snapshot: RequestForm | None = None,
        application_id: str | None = None,
    ) -> bool:
        """Store ``event`` and move the request to ``target``, if the request is still at
        the version read; False (nothing changed) when someone acted in between."""
        version = request.version + 1
        sets = ["state = :state", "version = :version", "updated_at = :at"]
        params: dict[str, Any] = {
            "id": request.id,
            "state": target.value,
            "version": version,
            "read": request.version,
            "at": at,
        }
        if snapshot is not None:
            sets.append("snapshot = :snapshot")
            params["snapshot"] = _encode(snapshot).decode()
        if application_id is not None:
            sets.append("application_id = :application_id")
            params["application_id"] = application_id
        try:
            counts = await self.db.execute_all(
                [
                    _event_insert(request.id, version, event, role, actor, at, message),
                    (
                        f"UPDATE habilitation_requests SET {', '.join(sets)} "  # noqa: S608
                        "WHERE id = :id AND version = :read",
                        params,
                    ),
                ]
            )
        except sa.exc.IntegrityError:
            return False
        return counts[1] == 1

    async def events(self, request_id: str) -> list[EventRecord]:
        rows = await self.db.fetch_all(
            "SELECT seq, event, role, actor, at, message FROM habilitation_events "
            "WHERE request_id = :id ORDER BY seq",
            {"id": request_id},
        )
        return [
            EventRecord(
                seq=r[0], event=Event(r[1]), role=Role(r[2]), actor=r[3], at=r[4], message=r[5]
            )
            for r in rows
        ]

    # -- instructors -----------------------------------------------------------------------

    async def add_instructor(self, email: str, at: float) -> bool:
        added = await self.db.execute(
            "INSERT INTO habilitation_instructors (email, added_at) VALUES (:email, :at) "
            "ON CONFLICT (email) DO NOTHING",
            {"email": email, "at": at},
        )
        return added == 1

    async def remove_instructor(self, email: str) -> bool:
        removed = await self.db.execute(
            "DELETE FROM habilitation_instructors WHERE email = :email", {"email": email}
        )
        return removed == 1

    async def is_instructor(self, email: str) -> bool:
        rows = await self.db.fetch_all(
            "SELECT 1 FROM habilitation_instructors WHERE email = :email", {"email": email}
        )
        return bool(rows)

    async def instructors(self) -> list[str]:
        rows = await self.db.fetch_all("SELECT email FROM habilitation_instructors ORDER BY email")
        return [row[0] for row in rows]

    # -- documents -------------------------------------------------------------------------

    async def add_document(self, request_id: str, filename: str, content: bytes, at: float) -> str:
        document_id = secrets.token_hex(8)
        await self.db.execute(
            "INSERT INTO habilitation_documents (id, request_id, filename, size, content, "
            "uploaded_at) VALUES (:id, :request_id, :filename, :size, :content, :at)",
            {
                "id": document_id,
                "request_id": request_id,
                "filename": filename,
                "size": len(content),
                "content": content,
                "at": at,
            },
        )
        return document_id

    async def documents(self, request_id: str) -> list[DocumentInfo]:
        rows = await self.db.fetch_all(
            "SELECT id, filename, size, uploaded_at FROM habilitation_documents "
            "WHERE request_id = :id ORDER BY uploaded_at",
            {"id": request_id},
        )
        return [DocumentInfo(id=r[0], filename=r[1], size=r[2], uploaded_at=r[3]) for r in rows]

    async def document(self, request_id: str, document_id: str) -> tuple[str, bytes] | None:
        rows = await self.db.fetch_all(
            "SELECT filename, content FROM habilitation_documents "
            "WHERE id = :id AND request_id = :request_id",
            {"id": document_id, "request_id": request_id},
        )
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    # -- sign-in links ---------------------------------------------------------------------

    async def add_sign_in_link(
        self, token_hash: str, email: str, client: str, next_path: str, at: float, ttl: float
    ) -> None:
        await self.db.execute(
            "INSERT INTO habilitation_sign_in_links (token_hash, email, client, next_path, "
            "created_at, expires_at, used_at) VALUES (:hash, :email, :client, :next, :at, "
            ":expires, NULL)",
            {
                "hash": token_hash,
                "email": email,
                "client": client,
                "next": next_path,
                "at": at,
                "expires": at + ttl,
            },
        )

    async def sign_in_links_since(
        self, since: float, *, email: str, client: str
    ) -> tuple[int, int]:
        """Links asked since ``since`` for this address, and from this client."""
        rows = await self.db.fetch_all(
            "SELECT "
            "COALESCE(SUM(CASE WHEN email = :email THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN client = :client THEN 1 ELSE 0 END), 0) "
            "FROM habilitation_sign_in_links "
            "WHERE created_at > :since AND (email = :email OR client = :client)",
            {"since": since, "email": email, "client": client},
        )
        return int(rows[0][0]), int(rows[0][1])

    async def use_sign_in_link(self, token_hash: str, at: float) -> tuple[str, str] | None:
        """(e-mail, next path) of a link used now for the first time, before it expired."""
        used = await self.db.execute(
            "UPDATE habilitation_sign_in_links SET used_at = :at "
            "WHERE token_hash = :hash AND used_at IS NULL AND expires_at > :at",
            {"hash": token_hash, "at": at},
        )
        if used != 1:
            return None
        rows = await self.db.fetch_all(
            "SELECT email, next_path FROM habilitation_sign_in_links WHERE token_hash = :hash",
            {"hash": token_hash},
        )
        return (rows[0][0], rows[0][1]) if rows else None

    async def sign_out(self, email: str, at: float) -> None:
        """End every session of ``email`` signed in before ``at``."""
        await self.db.execute(
            "INSERT INTO habilitation_sign_outs (email, signed_out_at) VALUES (:email, :at) "
            "ON CONFLICT (email) DO UPDATE SET signed_out_at = excluded.signed_out_at",
            {"email": email, "at": at},
        )

    async def signed_out_at(self, email: str) -> float | None:
        rows = await self.db.fetch_all(
            "SELECT signed_out_at FROM habilitation_sign_outs WHERE email = :email",
            {"email": email},
        )
        return float(rows[0][0]) if rows else None

    async def purge_sign_in_links(self, before: float) -> int:
        return await self.db.execute(
            "DELETE FROM habilitation_sign_in_links WHERE expires_at < :before",
            {"before": before},
        )

    # -- key reveals -----------------------------------------------------------------------

    async def add_reveal(
        self,
        reveal_id: str,
        application_id: str,
        *,
        request_id: str | None,
        token_hash: str | None,
        key_expires_at: float | None,
        expires_at: float,
    ) -> bool:
        added = await self.db.execute(
            "INSERT INTO habilitation_key_reveals (id, application_id, request_id, token_hash, "
            "key_expires_at, expires_at, revealed_at) VALUES (:id, :application_id, "
            ":request_id, :token_hash, :key_expires_at, :expires_at, NULL) "
            "ON CONFLICT (id) DO NOTHING",
            {
                "id": reveal_id,
                "application_id": application_id,
                "request_id": request_id,
                "token_hash": token_hash,
                "key_expires_at": key_expires_at,
                "expires_at": expires_at,
            },
        )
        return added == 1

    async def reveal_for_request(self, request_id: str) -> Reveal | None:
        rows = await self.db.fetch_all(
            f"SELECT {_REVEAL_COLUMNS} FROM habilitation_key_reveals "  # noqa: S608
            "WHERE request_id = :id",
            {"id": request_id},
        )
        return _reveal(rows[0]) if rows else None

    async def reveal_by_token(self, token_hash: str) -> Reveal | None:
        rows = await self.db.fetch_all(
            f"SELECT {_REVEAL_COLUMNS} FROM habilitation_key_reveals "  # noqa: S608
            "WHERE token_hash = :hash",
            {"hash": token_hash},
        )
        return _reveal(rows[0]) if rows else None

    async def claim_reveal(self, reveal_id: str, at: float) -> bool:
        """True for the one caller that may show this key, once."""
        claimed = await self.db.execute(
            "UPDATE habilitation_key_reveals SET revealed_at = :at "
            "WHERE id = :id AND revealed_at IS NULL AND expires_at > :at",
            {"id": reveal_id, "at": at},
        )
        return claimed == 1

    async def release_reveal(self, reveal_id: str) -> None:
        """Undo a claim whose key could not be made."""
        await self.db.execute(
            "UPDATE habilitation_key_reveals SET revealed_at = NULL WHERE id = :id",
            {"id": reveal_id},
        )

    async def forget_reveal(self, reveal_id: str) -> None:
        """Remove a reveal never shown (its link could not be sent): the next approval
        prepares it again."""
        await self.db.execute(
            "DELETE FROM habilitation_key_reveals WHERE id = :id AND revealed_at IS NULL",
            {"id": reveal_id},
        )

    async def cancel_reveals(self, application_id: str, at: float) -> None:
        """A revoked application's keys are never shown after."""
        await self.db.execute(
            "UPDATE habilitation_key_reveals SET expires_at = :at "
            "WHERE application_id = :id AND revealed_at IS NULL",
            {"id": application_id, "at": at},
        )

    # -- DataPass deliveries ---------------------------------------------------------------

    async def claim_delivery(self, digest: str, at: float) -> bool:
        """Whether the delivery of ``digest`` is this one's to handle: not seen before, or
        claimed more than DELIVERY_LEASE ago and never answered.
        Deliveries older than DELIVERIES_KEPT are forgotten on the way: DataPass retries
        within minutes, and the table would otherwise grow forever."""
        await self.db.execute(
            "DELETE FROM habilitation_deliveries WHERE received_at < :before",
            {"before": at - DELIVERIES_KEPT},
        )
        claimed = await self.db.execute(
            "INSERT INTO habilitation_deliveries (digest, received_at, answer) "
            "VALUES (:digest, :at, NULL) ON CONFLICT (digest) DO NOTHING",
            {"digest": digest, "at": at},
        )
        if claimed == 1:
            return True
        taken_over = await self.db.execute(
            "UPDATE habilitation_deliveries SET received_at = :at WHERE digest = :digest "
            "AND answer IS NULL AND received_at < :stale",
            {"digest": digest, "at": at, "stale": at - DELIVERY_LEASE},
        )
        return taken_over == 1

    async def delivery_answer(self, digest: str) -> str | None:
        rows = await self.db.fetch_all(
            "SELECT answer FROM habilitation_deliveries WHERE digest = :digest",
            {"digest": digest},
        )
        return rows[0][0] if rows else None

    async def answer_delivery(self, digest: str, answer: str) -> None:
        await self.db.execute(
            "UPDATE habilitation_deliveries SET answer = :answer WHERE digest = :digest",
            {"digest": digest, "answer": answer},
        )

    async def forget_delivery(self, digest: str) -> None:
        """A delivery that failed: DataPass's retry is handled afresh."""
        await self.db.execute(
            "DELETE FROM habilitation_deliveries WHERE digest = :digest", {"digest": digest}
        )

    # -- the plugin's own secret -----------------------------------------------------------

    async def secret(self, name: str) -> str:
        """A random secret made once and shared by every host (the first writer wins)."""
        await self.db.execute(
            "INSERT INTO habilitation_secrets (name, value) VALUES (:name, :value) "
            "ON CONFLICT (name) DO NOTHING",
            {"name": name, "value": secrets.token_urlsafe(48)},
        )
        rows = await self.db.fetch_all(
            "SELECT value FROM habilitation_secrets WHERE name = :name", {"name": name}
        )
        return str(rows[0][0])


def _event_insert(
    request_id: str,
    seq: int,
    event: Event,
    role: Role,
    actor: str,
    at: float,
    message: str | None,
) -> tuple[str, dict[str, Any]]:
    return (
        "INSERT INTO habilitation_events (request_id, seq, event, role, actor, at, message) "
        "VALUES (:request_id, :seq, :event, :role, :actor, :at, :message)",
        {
            "request_id": request_id,
            "seq": seq,
            "event": event.value,
            "role": role.value,
            "actor": actor,
            "at": at,
            "message": message,
        },
    )
