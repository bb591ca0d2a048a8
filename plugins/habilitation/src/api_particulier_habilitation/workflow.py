"""What each event does besides changing the state: checks, credentials, e-mails.

The web pages, the command line and DataPass's webhook all act through :class:`Workflow`,
so a rule holds however a request is acted upon. Approving makes (or updates) the
application from the request and prepares its first key, shown once to the requester;
revoking revokes the application's keys before anything else, so that an interrupted
revocation errs on the side of revocation.
"""

from __future__ import annotations

import time
import uuid

import structlog
from api_particulier import Application, Credentials

from .catalogue import Catalogue
from .config import HabilitationConfig
from .form import RequestForm, contact_line, legal_basis, problems
from .mail import Mailer
from .repository import Repository, RequestRecord
from .states import STATE_LABELS, Event, NotAllowed, Role, State, next_state

# Application ids derived from the request's: approving twice makes one application.
_APPLICATIONS = uuid.UUID("6f1c1d1e-8a53-4b0e-9a55-6b7a0c0f4d21")
_NEEDS_MESSAGE = {
    Event.request_changes: "Indiquez les modifications attendues.",
    Event.refuse: "Indiquez le motif du refus.",
    Event.revoke: "Indiquez le motif de la révocation.",
    Event.message: "Écrivez votre message.",
}
MAX_MESSAGE = 5000
MONTH = 30.4375 * 86400


class AlreadyDone(NotAllowed):
    """The request changed since the page was shown (a form posted twice): nothing done."""

    def __init__(self) -> None:
        super().__init__(
            "La demande a changé depuis l'affichage de la page : rien n'a été refait. "
            "Voici son état actuel."
        )


class Invalid(Exception):
    """A submission with fields to correct: ``problems`` maps each field to its message."""

    def __init__(self, found: dict[str, str]) -> None:
        super().__init__(", ".join(sorted(found)))
        self.problems = found


def application_id_for(request_id: str) -> str:
    return str(uuid.uuid5(_APPLICATIONS, request_id))


class Workflow:
    def __init__(
        self,
        repository: Repository,
        credentials: Credentials,
        mailer: Mailer,
        config: HabilitationConfig,
        catalogue: Catalogue,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self.repository = repository
        self.credentials = credentials
        self.mailer = mailer
        self.config = config
        self.catalogue = catalogue
        self.log = log

    def link(self, path: str) -> str:
        return self.config.public_url.rstrip("/") + path

    async def act(
        self,
        request: RequestRecord,
        event: Event,
        role: Role,
        actor: str,
        *,
        message: str | None = None,
        version: int | None = None,
    ) -> RequestRecord:
        """Fire ``event`` on ``request``; the request as it is after. Raises
        :class:`NotAllowed` (nothing changed), :class:`AlreadyDone` when ``version`` (the
        version the actor saw) is not the request's, :class:`Invalid` for a submission
        with fields to correct."""
        if version is not None and version != request.version:
            raise AlreadyDone
        target = next_state(
            request.state, event, role, from_datapass=request.datapass_id is not None
        )
        if event is Event.revoke and request.application_id is None:
            raise NotAllowed("Aucune habilitation n'a été délivrée pour cette demande.")
        message = (message or "").strip() or None
        if event in _NEEDS_MESSAGE and not message:
            raise NotAllowed(_NEEDS_MESSAGE[event])
        if message is not None and len(message) > MAX_MESSAGE:
            raise NotAllowed(f"Le message dépasse {MAX_MESSAGE} caractères.")
        if event is Event.submit:
            documents = await self.repository.documents(request.id)
            found = problems(
                request.form, self.catalogue.scopes, complete=True, has_document=bool(documents)
            )
            if found:
                raise Invalid(found)
        now = time.time()
        snapshot: RequestForm | None = None
        application_id: str | None = None
        if event is Event.approve:
            application_id = request.application_id or application_id_for(request.id)
            await self._save_application(request, application_id, now)
            snapshot = request.form
        if event is Event.revoke and request.application_id is not None:
            await self.credentials.revoke_keys(request.application_id)
            await self.repository.cancel_reveals(request.application_id, now)
        recorded = await self.repository.record_event(
            request,
            event,
            role,
            actor,
            now,
            message,
            target,
            snapshot=snapshot,
            application_id=application_id,
        )
        if not recorded:
            raise AlreadyDone
        if event is Event.approve and request.datapass_id is None:
            assert application_id is not None
            await self._prepare_first_key(request.id, application_id, now)
        self.log.info(
            "habilitation_event",
            request_id=request.id,
            action=event.value,
            role=role.value,
            state=target.value,
        )
        after = await self.repository.get(request.id)
        assert after is not None
        try:
            await self._notify(after, event, role)
        except Exception as exc:  # the event is done: a mail server down must not undo it
            self.log.error("mail_failed", request_id=request.id, error=type(exc).__name__)
        return after

    async def _save_application(
        self, request: RequestRecord, application_id: str, now: float
    ) -> None:
        form = request.form
        existing = await self.credentials.application(application_id)
        application = Application(
            id=application_id,
            # The name stays the one first given: it identifies the application.
            name=existing.name if existing else f"{form.title[:120]} (habilitation {request.id})",
            scopes=tuple(sorted(s for s in form.scopes if s in self.catalogue.scopes)),
            siret=(form.entity_siret if form.is_publisher else form.siret) or None,
            legal_basis=legal_basis(form) or None,
            simplification=form.simplification or None,
            technical_contact=contact_line(form.technical) or None,
            dpo_contact=contact_line(form.dpo) or None,
            recipients=form.recipients or None,
            authorization_ref=request.datapass_id or request.id,
            created_at=existing.created_at if existing else now,
            settings=existing.settings if existing else {},
        )
        await self.credentials.save_application(application)

    def key_expiry(self, now: float) -> float:
        return now + self.config.key_validity_months * MONTH

    async def _prepare_first_key(self, request_id: str, application_id: str, now: float) -> None:
        """The first validation prepares a key shown once on the requester's page; a
        validation after a reopening keeps the key already given."""
        await self.repository.add_reveal(
            application_id,
            application_id,
            request_id=request_id,
            token_hash=None,
            key_expires_at=self.key_expiry(now),
            expires_at=self.key_expiry(now),
        )

    async def _notify(self, request: RequestRecord, event: Event, role: Role) -> None:
        number = request.id
        if role is Role.requester:
            if event not in (Event.submit, Event.message):
                return
            subject = (
                f"Demande d'habilitation n° {number} à instruire"
                if event is Event.submit
                else f"Nouveau message sur la demande d'habilitation n° {number}"
            )
            body = (
                f"{subject}.\n\nPour la consulter : "
                f"{self.link(f'/habilitation/instruction/demandes/{number}')}\n"
            )
            for instructor in await self.repository.instructors():
                await self.mailer.send(instructor, subject, body)
            return
        if request.datapass_id is not None or event is Event.create:
            return  # DataPass tells its own applicants
        subject = (
            f"Nouveau message sur votre demande d'habilitation n° {number}"
            if event is Event.message
            else f"Votre demande d'habilitation n° {number} : {STATE_LABELS[request.state]}"
        )
        body = (
            f"{subject}.\n\nConnectez-vous pour la consulter : "
            f"{self.link(f'/habilitation/demandes/{number}')}\n"
        )
        if request.state is State.validated and event is Event.approve:
            body += "\nVotre clé d'API vous sera affichée une seule fois sur cette page.\n"
        await self.mailer.send(request.requester_email, subject, body)
