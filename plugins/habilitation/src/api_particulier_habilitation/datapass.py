"""DataPass's webhook: ``POST /api/datapass/webhook``.

Each delivery is signed (``X-Hub-Signature-256: sha256=<hex HMAC-SHA-256 of the raw body>``
with the shared secret) and may come more than once: DataPass retries what failed. A
delivery is known by its body's digest; the first is handled, the others get the same
answer and change nothing. ``approve`` makes or updates the application — its first key
being shown once, behind a single-use link e-mailed to the technical contact — and answers
``{"token_id": <application id>}``; ``revoke`` revokes it; a test delivery answers 200;
the other events are acknowledged and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated, Any

import msgspec
from api_particulier import Denial, Secret, denial_response, json_response, read_body
from msgspec import Meta
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .form import EMAIL, Contact, RequestForm
from .repository import DELIVERIES_KEPT, RequestRecord
from .sessions import new_token, token_hash
from .states import EDITABLE, Event, NotAllowed, Role, State
from .workflow import Workflow

MAX_BODY = 1_000_000
REVEAL_LINK_TTL = 7 * 86400.0
ACTOR = "DataPass"
# Deliveries are remembered DELIVERIES_KEPT; one fired before (with a day's margin for the
# clocks) might be a copy already handled and forgotten.
MAX_DELIVERY_AGE = DELIVERIES_KEPT - 86400


class Organization(msgspec.Struct, kw_only=True):
    siret: str = ""
    name: str = ""


class Applicant(msgspec.Struct, kw_only=True):
    email: str = ""


class AuthorizationRequest(msgspec.Struct, kw_only=True):
    # DataPass numbers its requests; a text id is accepted in the characters of a local
    # request number, short enough that ``dp-<id>`` stays one.
    id: Annotated[int, Meta(ge=0)] | Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,61}$")]
    organization: Organization = msgspec.field(default_factory=Organization)
    applicant: Applicant = msgspec.field(default_factory=Applicant)
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Delivery(msgspec.Struct, kw_only=True):
    event: str
    # When DataPass fired it (Unix seconds): a copy older than the deliveries remembered
    # could not be recognised as one, and is refused.
    fired_at: float
    model_type: str = ""
    data: AuthorizationRequest


TOO_LARGE = Denial(
    status=413,
    error="payload_too_large",
    reason="Body too large",
    message="La notification est trop grande",
)
UNSIGNED = Denial(
    status=401,
    error="access_denied",
    reason="Missing or invalid X-Hub-Signature-256",
    message="La signature de la notification est absente ou invalide",
)
MALFORMED = Denial(
    status=400,
    error="bad_request",
    reason="Malformed webhook body",
    message="Le contenu de la notification est invalide",
)
IN_PROGRESS = Denial(
    status=409,
    error="conflict",
    reason="Delivery being handled",
    message="Notification en cours de traitement",
)
STALE = Denial(
    status=422,
    error="unprocessable",
    reason="Delivery fired too long ago",
    message="La notification est trop ancienne",
)
NOT_ALLOWED = Denial(
    status=422,
    error="unprocessable",
    reason="The authorization cannot change from its current state",
    message="L'habilitation ne peut pas changer depuis son état actuel",
)


def datapass_request_id(datapass_id: str) -> str:
    """The local number of DataPass's request ``datapass_id``; no other request is numbered
    with the ``dp-`` prefix."""
    return f"dp-{datapass_id}"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ""


def _contact(data: dict[str, Any], prefix: str) -> Contact:
    name = " ".join(
        part
        for part in (_text(data, f"{prefix}_given_name"), _text(data, f"{prefix}_family_name"))
        if part
    )
    return Contact(
        name=name, email=_text(data, f"{prefix}_email"), phone=_text(data, f"{prefix}_phone_number")
    )


def form_of(request: AuthorizationRequest) -> RequestForm:
    """DataPass's form, in this plugin's terms."""
    data = request.data
    scopes = data.get("scopes")
    return RequestForm(
        siret=request.organization.siret,
        title=_text(data, "intitule") or f"Habilitation DataPass {request.id}",
        description=_text(data, "description"),
        simplification=_text(data, "description"),
        legal_nature="autre" if _text(data, "cadre_juridique_nature") else "",
        legal_article=_text(data, "cadre_juridique_nature"),
        legal_url=_text(data, "cadre_juridique_url"),
        scopes=tuple(sorted({s for s in scopes if isinstance(s, str)}))
        if isinstance(scopes, list)
        else (),
        recipients=_text(data, "destinataire_donnees_caractere_personnel"),
        retention_months=_text(data, "duree_conservation_donnees_caractere_personnel"),
        business=_contact(data, "responsable_traitement"),
        technical=_contact(data, "contact_technique"),
        dpo=_contact(data, "delegue_protection_donnees"),
        terms_accepted=True,
        dpo_informed=True,
    )


class DataPassWebhook:
    def __init__(self, workflow: Workflow, secret: Secret | None) -> None:
        self.workflow = workflow
        self.repository = workflow.repository
        self.secret = secret

    async def __call__(self, request: Request) -> Response:
        try:
            body = await read_body(request, MAX_BODY)
        except HTTPException:
            return denial_response(TOO_LARGE)
        given = request.headers.get("x-hub-signature-256", "")
        if self.secret is None or not hmac.compare_digest(
            given.encode("utf-8"), signature(self.secret.reveal(), body).encode("utf-8")
        ):
            self.workflow.log.warning("datapass_signature_refused")
            return denial_response(UNSIGNED)
        try:
            raw = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return denial_response(MALFORMED)
        if isinstance(raw, dict) and raw.get("test") is True:
            return json_response(b"{}")
        try:
            delivery = msgspec.convert(raw, Delivery)
        except msgspec.ValidationError:
            return denial_response(MALFORMED)
        if delivery.fired_at < time.time() - MAX_DELIVERY_AGE:
            self.workflow.log.warning("datapass_delivery_stale", action=delivery.event)
            return denial_response(STALE)
        digest = hashlib.sha256(body).hexdigest()
        if not await self.repository.claim_delivery(digest, time.time()):
            answer = await self.repository.delivery_answer(digest)
            if answer is None:  # the first copy is still being handled
                return denial_response(IN_PROGRESS)
            self.workflow.log.info("datapass_delivery_replayed", action=delivery.event)
            return json_response(answer.encode("utf-8"))
        try:
            answer_body = await self._handle(delivery)
        except NotAllowed:
            await self.repository.forget_delivery(digest)
            return denial_response(NOT_ALLOWED)
        except BaseException:
            await self.repository.forget_delivery(digest)
            raise
        encoded = msgspec.json.encode(answer_body).decode()
        await self.repository.answer_delivery(digest, encoded)
        return json_response(encoded.encode("utf-8"))

    async def _handle(self, delivery: Delivery) -> dict[str, Any]:
        datapass_id = str(delivery.data.id)
        log = self.workflow.log.bind(action=delivery.event, datapass_id=datapass_id)
        if delivery.event == "approve":
            application_id = await self._approve(delivery.data, datapass_id)
            log.info("datapass_approved", application_id=application_id)
            return {"token_id": application_id}
        if delivery.event == "revoke":
            existing = await self.repository.by_datapass(datapass_id)
            if existing is None or existing.state is State.revoked:
                return {}  # nothing was ever approved here, or it is revoked already
            if existing.application_id is None:
                raise NotAllowed("nothing approved to revoke")
            # Whatever happened to the request since its approval (reopened, archived),
            # DataPass's revocation revokes its keys.
            await self.workflow.act(
                existing, Event.revoke, Role.system, ACTOR, message="Révoquée dans DataPass"
            )
            log.info("datapass_revoked")
            return {}
        log.info("datapass_event_ignored")
        return {}

    async def _approve(self, data: AuthorizationRequest, datapass_id: str) -> str:
        form = form_of(data)
        # Signing in lower-cases addresses: the applicant must find their request.
        requester = (data.applicant.email or form.technical.email).strip().lower()
        request = await self.repository.by_datapass(datapass_id)
        if request is None:
            request_id = datapass_request_id(datapass_id)
            await self.repository.create(
                request_id, requester, form, time.time(), role=Role.system, datapass_id=datapass_id
            )
            request = await self.repository.get(request_id)
            if request is None or request.datapass_id != datapass_id:
                # The number is another request's: never approve what DataPass did not see.
                self.workflow.log.warning("datapass_request_number_taken", datapass_id=datapass_id)
                raise NotAllowed("the request number is taken")
        if request.state is State.validated and request.form == form:
            # The approval in force, sent again (DataPass's retry of a delivery that
            # failed after the approval, e.g. on sending the key's link): nothing to
            # change, only the key's link to make sure of.
            await self._send_first_key(request, form)
            assert request.application_id is not None
            return request.application_id
        if request.state is State.validated:
            request = await self.workflow.act(request, Event.reopen, Role.system, ACTOR)
        if request.state in EDITABLE:
            await self.repository.save_form(request.id, form, time.time())
            request = await self.repository.get(request.id)
            assert request is not None
            # DataPass checked the form: only what makes an application is required here.
            request = await self._submit(request)
        if request.state is not State.submitted:
            raise NotAllowed(f"request in state {request.state.value}")
        approved = await self.workflow.act(request, Event.approve, Role.system, ACTOR)
        assert approved.application_id is not None
        await self._send_first_key(approved, form)
        return approved.application_id

    async def _submit(self, request: RequestRecord) -> RequestRecord:
        recorded = await self.repository.record_event(
            request, Event.submit, Role.system, ACTOR, time.time(), None, State.submitted
        )
        after = await self.repository.get(request.id)
        assert recorded and after is not None
        return after

    async def _send_first_key(self, request: RequestRecord, form: RequestForm) -> None:
        """A new application's first key, behind a single-use link to the technical contact;
        a re-approval keeps the key already given."""
        assert request.application_id is not None
        token = new_token()
        now = time.time()
        added = await self.repository.add_reveal(
            request.application_id,
            request.application_id,
            request_id=None,
            token_hash=token_hash(token),
            key_expires_at=self.workflow.key_expiry(now),
            expires_at=now + REVEAL_LINK_TTL,
        )
        if not added:
            return
        if not EMAIL.fullmatch(form.technical.email):
            self.workflow.log.warning(
                "datapass_technical_contact_unusable", datapass_id=request.datapass_id
            )
            return
        subject = "Votre clé d'API Particulier est prête"
        try:
            await self.workflow.mailer.send(
                form.technical.email,
                subject,
                f"L'habilitation DataPass n° {request.datapass_id} a été validée.\n\n"
                "Votre clé d'API vous sera affichée une seule fois à cette adresse, valable "
                f"7 jours : {self.workflow.link(f'/habilitation/cle/{token}')}\n",
            )
        except BaseException:
            # Nobody has the link: DataPass's retry prepares and sends another.
            await self.repository.forget_reveal(request.application_id)
            raise
