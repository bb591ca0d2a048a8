"""The pages: eligibility, sign-in, the request form, the requester's page with its key,
and the instruction space. Server-rendered (DSFR, through the core's ``Pages``), French.

Every form carries the session's CSRF token; a form posted twice changes nothing the second
time (a new request's id is chosen when its page is shown; an action names the version of
the request it was shown). A requester sees only their own requests: another's answers
404, as one that does not exist.
"""

from __future__ import annotations

import datetime
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from api_particulier import Pages, WebRoute, read_form
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .catalogue import Catalogue
from .form import (
    CONTACTS,
    EMAIL,
    LEGAL_NATURES,
    PROFILES,
    VOLUMES,
    RequestForm,
    problems,
    request_form,
)
from .repository import Repository, RequestRecord
from .sessions import LINK_TTL, Session, Sessions, new_token, token_hash
from .states import (
    EVENT_LABELS,
    STATE_LABELS,
    Event,
    NotAllowed,
    Role,
    State,
    requester_may_edit,
)
from .workflow import AlreadyDone, Invalid, Workflow

MAX_PDF = 10 * 1024 * 1024
# A request body: the PDF and the form's text, with room for the multipart framing.
MAX_BODY = MAX_PDF + 512 * 1024
# A request's number in a URL: one a new request's page gives, or DataPass's ``dp-<id>``.
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
# The number a new request's page gives (12 hex digits): never DataPass's ``dp-<id>``.
_NEW_REQUEST_ID = re.compile(r"[0-9a-f]{12}", re.ASCII)
_SAFE_NEXT = re.compile(r"/habilitation(/[A-Za-z0-9_\-/]*)?(\?[A-Za-z0-9_=&\-]*)?", re.ASCII)

PROFILE_CHOICES = {
    "particulier": "Un particulier",
    "entreprise": "Une entreprise ou une association",
    "administration": "Une administration ou une collectivité territoriale",
    "editeur": "Un éditeur de logiciel agissant pour une administration",
}
NOT_ELIGIBLE = {
    "particulier": (
        "API Particulier est réservée aux administrations : un particulier ne peut pas y "
        "accéder. Vos propres données vous sont accessibles auprès de chaque administration "
        "qui les détient."
    ),
    "entreprise": (
        "Les entreprises et les associations ne sont pas éligibles : seules les "
        "administrations, pour leurs démarches, peuvent accéder aux données des usagers."
    ),
}
NOTICES = {
    "brouillon": "Votre brouillon est enregistré.",
    "soumise": "Votre demande est transmise à l'équipe d'instruction.",
    "message": "Votre message est envoyé.",
    "reouverte": "Votre demande est réouverte : modifiez-la puis soumettez-la à nouveau.",
    "archivee": "La demande est archivée.",
    "action": "L'action est enregistrée.",
}
INSTRUCTOR_ACTIONS = {
    "modifications": Event.request_changes,
    "refus": Event.refuse,
    "validation": Event.approve,
    "revocation": Event.revoke,
    "message": Event.message,
    "archivage": Event.archive,
}
REQUESTER_ACTIONS = {
    "message": (Event.message, "message"),
    "reouverture": (Event.reopen, "reouverte"),
    "archivage": (Event.archive, "archivee"),
}
NO_STORE = {"cache-control": "no-store"}
# Sign-in links one client address may ask, in multiples of those one e-mail address may.
CLIENT_FACTOR = 10
BAD_EMAIL = "Indiquez une adresse électronique valide, par exemple nom@exemple.gouv.fr."


class Site:
    """The pages; declared at boot, given what they serve with at start-up (:meth:`bind`)."""

    workflow: Workflow
    repository: Repository
    sessions: Sessions
    catalogue: Catalogue

    def bind(self, workflow: Workflow, sessions: Sessions, catalogue: Catalogue) -> None:
        self.workflow = workflow
        self.repository = workflow.repository
        self.sessions = sessions
        self.catalogue = catalogue
        self.sign_in_limit = workflow.config.sign_in_limit

    def __init__(self) -> None:
        self.pages = Pages(
            Path(__file__).parent / "templates",
            globals={
                "STATE_LABELS": STATE_LABELS,
                "EVENT_LABELS": EVENT_LABELS,
                "PROFILES": PROFILES,
                "LEGAL_NATURES": LEGAL_NATURES,
                "VOLUMES": VOLUMES,
                "CONTACTS": CONTACTS,
                "States": State,
                "when": when,
            },
        )

    def routes(self) -> list[WebRoute]:
        """One route per path (GET shows, POST acts)."""
        requests, instruction = "/habilitation/demandes", "/habilitation/instruction"
        table: list[tuple[str, Endpoint | None, Endpoint | None]] = [
            ("/habilitation/connexion", self.sign_in_form, self.sign_in_request),
            ("/habilitation/connexion/{token}", self.sign_in_confirm, self.sign_in_use),
            ("/habilitation/deconnexion", None, self.sign_out),
            (requests, self.my_requests, None),
            (f"{requests}/nouvelle", self.new_request, self.create_request),
            (f"{requests}/{{id}}", self.my_request, self.edit_request),
            (f"{requests}/{{id}}/cle", None, self.reveal_key),
            (f"{requests}/{{id}}/documents/{{document}}", self.document, None),
            (f"{requests}/{{id}}/{{action}}", None, self.requester_action),
            (instruction, self.instruction, None),
            (f"{instruction}/demandes/{{id}}", self.instruction_request, None),
            (f"{instruction}/demandes/{{id}}/{{action}}", None, self.instructor_action),
            ("/habilitation/cle/{token}", self.key_link, self.key_link_use),
        ]
        # The way in, for administrations, is in the site's menu.
        entry = WebRoute(path="/habilitation", endpoint=self.eligibility, menu_label=MENU_LABEL)
        return [entry, *(_route(path, get, post) for path, get, post in table)]

    # -- rendering -------------------------------------------------------------------------

    async def _session(self, request: Request) -> Session:
        """The request's session; anonymous when its address signed out since it signed in."""
        session = self.sessions.read(request)
        if session.email is not None:
            signed_out = await self.repository.signed_out_at(session.email)
            if signed_out is not None and session.signed_in_at <= signed_out:
                self.sessions.sign_out(session)
        return session

    async def page(
        self,
        request: Request,
        session: Session,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        instructor = bool(session.email) and await self.repository.is_instructor(
            session.email or ""
        )
        full = {
            "csrf": self.sessions.csrf_token(session),
            "user": session.email,
            "instructor": instructor,
            **(context or {}),
        }
        # Every page holds a CSRF token, most a person's requests, and a sign-in
        # confirmation its link's token: none is kept by a browser or a proxy.
        response = self.pages.render(
            request, template, full, status_code=status, headers={**NO_STORE, **(headers or {})}
        )
        return self.sessions.store(session, response)

    async def notice(
        self,
        request: Request,
        session: Session,
        title: str,
        text: str,
        *,
        status: int,
        kind: str = "error",
    ) -> Response:
        return await self.page(
            request,
            session,
            "notice.html",
            {"title": title, "text": text, "kind": kind},
            status=status,
        )

    def redirect(self, session: Session, path: str) -> Response:
        return self.sessions.store(session, RedirectResponse(path, status_code=303))

    async def _form(self, request: Request) -> FormData | None:
        """The posted form, or None when it is too large to read (a form that cannot be
        parsed is the core's 400)."""
        try:
            return await read_form(
                request, MAX_BODY, max_files=1, max_fields=200, max_part_size=64 * 1024
            )
        except HTTPException as refused:
            if refused.status_code == 413:
                return None
            raise

    async def _checked(self, request: Request) -> tuple[Session, FormData | Response]:
        """The session and the posted form, or the answer refusing it (CSRF, size)."""
        session = await self._session(request)
        data = await self._form(request)
        if data is None:
            response = await self.notice(
                request,
                session,
                "Envoi trop volumineux",
                "Le document joint dépasse 10 Mo. Joignez un PDF plus léger.",
                status=413,
            )
            return session, response
        if not self.sessions.csrf_valid(session, data.get("csrf")):
            response = await self.notice(
                request,
                session,
                "Formulaire expiré",
                "Ce formulaire a expiré. Revenez à la page précédente, rechargez-la et "
                "recommencez.",
                status=403,
            )
            return session, response
        return session, data

    def _to_sign_in(self, session: Session, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not _SAFE_NEXT.fullmatch(target):
            target = "/habilitation/demandes"
        return self.redirect(session, f"/habilitation/connexion?suivant={quote(target)}")

    # -- eligibility and sign-in -----------------------------------------------------------

    async def eligibility(self, request: Request) -> Response:
        session = await self._session(request)
        profile = request.query_params.get("profil")
        if profile not in PROFILE_CHOICES:
            profile = None
        return await self.page(
            request,
            session,
            "eligibility.html",
            {"choices": PROFILE_CHOICES, "profile": profile, "not_eligible": NOT_ELIGIBLE},
        )

    async def sign_in_form(self, request: Request) -> Response:
        session = await self._session(request)
        next_path = request.query_params.get("suivant", "/habilitation/demandes")
        if not _SAFE_NEXT.fullmatch(next_path):
            next_path = "/habilitation/demandes"
        return await self.page(
            request, session, "sign_in.html", {"next_path": next_path, "errors": {}, "email": ""}
        )

    async def sign_in_request(self, request: Request) -> Response:
        session, data = await self._checked(request)
        if isinstance(data, Response):
            return data
        email = str(data.get("email", "")).strip().lower()
        next_path = str(data.get("suivant", ""))
        if not _SAFE_NEXT.fullmatch(next_path):
            next_path = "/habilitation/demandes"
        if not EMAIL.fullmatch(email) or len(email) > 254:
            return await self.page(
                request,
                session,
                "sign_in.html",
                {
                    "next_path": next_path,
                    "email": email,
                    "errors": {"email": BAD_EMAIL},
                },
                status=422,
            )
        now = time.time()
        client = self.sessions.client(request)
        for_address, from_client = await self.repository.sign_in_links_since(
            now - LINK_TTL, email=email, client=client
        )
        # One client address may be a whole office behind one proxy: it gets more.
        if for_address >= self.sign_in_limit or from_client >= CLIENT_FACTOR * self.sign_in_limit:
            self.workflow.log.warning("sign_in_rate_limited")
            return await self.notice(
                request,
                session,
                "Trop de demandes de connexion",
                "Trop de liens de connexion ont été demandés. Réessayez dans 15 minutes.",
                status=429,
            )
        token = new_token()
        await self.repository.add_sign_in_link(
            token_hash(token), email, client, next_path, now, LINK_TTL
        )
        await self.repository.purge_sign_in_links(now - 86400)
        await self.workflow.mailer.send(
            email,
            "Votre lien de connexion à API Particulier",
            "Pour vous connecter à l'espace habilitation d'API Particulier, ouvrez ce lien "
            f"(valable 15 minutes, une seule fois) :\n\n"
            f"{self.workflow.link(f'/habilitation/connexion/{token}')}\n\n"
            "Si vous n'avez rien demandé, ignorez ce message.\n",
        )
        self.workflow.log.info("sign_in_link_sent")
        return await self.page(request, session, "sign_in_sent.html")

    async def sign_in_confirm(self, request: Request) -> Response:
        session = await self._session(request)
        return await self.page(
            request,
            session,
            "sign_in_confirm.html",
            {"token": request.path_params["token"]},
            headers={"referrer-policy": "no-referrer"},
        )

    async def sign_in_use(self, request: Request) -> Response:
        session, data = await self._checked(request)
        if isinstance(data, Response):
            return data
        used = await self.repository.use_sign_in_link(
            token_hash(request.path_params["token"]), time.time()
        )
        if used is None:
            return await self.notice(
                request,
                session,
                "Lien expiré ou déjà utilisé",
                "Ce lien de connexion n'est plus valable : il sert une seule fois, pendant "
                "15 minutes. Demandez-en un nouveau.",
                status=410,
            )
        email, next_path = used
        self.sessions.sign_in(session, email)
        self.workflow.log.info("signed_in")
        return self.redirect(session, next_path)

    async def sign_out(self, request: Request) -> Response:
        session, data = await self._checked(request)
        if isinstance(data, Response):
            return data
        if session.email is not None:
            # A copy of the cookie elsewhere (another browser, a stolen one) ends too.
            await self.repository.sign_out(session.email, time.time())
        self.sessions.sign_out(session)
        return self.redirect(session, "/habilitation")

    # -- the requester's pages -------------------------------------------------------------

    async def my_requests(self, request: Request) -> Response:
        session = await self._session(request)
        if session.email is None:
            return self._to_sign_in(session, request)
        found = await self.repository.list_requests(requester=session.email)
        return await self.page(request, session, "my_requests.html", {"requests": found})

    async def new_request(self, request: Request) -> Response:
        session = await self._session(request)
        if session.email is None:
            return self._to_sign_in(session, request)
        profile = request.query_params.get("profil", "administration")
        if profile not in PROFILES:
            return self.redirect(session, f"/habilitation?profil={quote(profile)}")
        return await self.page(
            request,
            session,
            "request_new.html",
            {
                "request_id": secrets.token_hex(6),
                "form": RequestForm(profile=profile),
                "errors": {},
                "catalogue": self.catalogue,
                "documents": [],
            },
        )

    async def create_request(self, request: Request) -> Response:
        session, data = await self._checked(request)
        if isinstance(data, Response):
            return data
        if session.email is None:
            return self._to_sign_in(session, request)
        request_id = str(data.get("request_id", ""))
        if not _NEW_REQUEST_ID.fullmatch(request_id):
            return await self.notice(
                request,
                session,
                "Formulaire invalide",
                "Rechargez la page et recommencez.",
                status=400,
            )
        form = request_form(data, data.getlist)
        existing = await self.repository.get(request_id)
        if existing is not None:
            if existing.requester_email != session.email:
                return await self._not_found(request, session)
            # The same new request posted twice: the second post edits the first.
            return await self._save(request, session, existing, form, data)
        document, document_problem = await _pdf(data)
        found = self._problems(form, data, has_document=document is not None)
        if document_problem:
            found["legal_document"] = document_problem
        if found:
            return await self.page(
                request,
                session,
                "request_new.html",
                {
                    "request_id": request_id,
                    "form": form,
                    "errors": found,
                    "catalogue": self.catalogue,
                    "documents": [],
                },
                status=422,
            )
        await self.repository.create(request_id, session.email, form, time.time())
        created = await self.repository.get(request_id)
        assert created is not None
        return await self._save(request, session, created, form, data, document=document)

    async def _save(
        self,
        request: Request,
        session: Session,
        record: RequestRecord,
        form: RequestForm,
        data: FormData,
        *,
        document: tuple[str, bytes] | None = None,
    ) -> Response:
        """Save the form of an editable request, then submit it when asked."""
        if not _editable(record):
            if data.get("action") == "soumettre" and record.state is State.submitted:
                # The same submission sent twice (a double click): nothing more to do.
                return await self._show(request, session, record, info=AlreadyDone().message)
            return await self._show(
                request,
                session,
                record,
                error="Cette demande ne peut plus être modifiée dans son état actuel.",
                status=409,
            )
        document_problem = None
        if document is None:
            document, document_problem = await _pdf(data)
        has_document = document is not None or bool(await self.repository.documents(record.id))
        found = self._problems(form, data, has_document=has_document)
        if document_problem:
            found["legal_document"] = document_problem
        if found:
            return await self._show(request, session, record, form=form, errors=found, status=422)
        now = time.time()
        await self.repository.save_form(record.id, form, now)
        if document is not None:
            await self.repository.add_document(record.id, document[0], document[1], now)
        if data.get("action") != "soumettre":
            return self.redirect(session, f"/habilitation/demandes/{record.id}?ok=brouillon")
        saved = await self.repository.get(record.id)
        assert saved is not None
        try:
            await self.workflow.act(
                saved,
                Event.submit,
                Role.requester,
                session.email or "",
                version=_version(data),
            )
        except Invalid as invalid:
            return await self._show(
                request, session, saved, form=form, errors=invalid.problems, status=422
            )
        except AlreadyDone as done:
            return await self._show(request, session, saved, info=done.message, status=200)
        except NotAllowed as refused:
            return await self._show(request, session, saved, error=refused.message, status=409)
        return self.redirect(session, f"/habilitation/demandes/{record.id}?ok=soumise")

    def _problems(self, form: RequestForm, data: FormData, *, has_document: bool) -> dict[str, str]:
        """What keeps the form from being saved; when a submission was asked and the draft
        itself is refused, every problem of a submission at once, so that one pass fixes
        them all."""
        found = problems(form, self.catalogue.scopes, complete=False)
        if found and data.get("action") == "soumettre":
            found = problems(form, self.catalogue.scopes, complete=True, has_document=has_document)
        return found

    async def _own(self, request: Request, session: Session) -> RequestRecord | None:
        request_id = request.path_params["id"]
        if not _REQUEST_ID.fullmatch(request_id):
            return None
        record = await self.repository.get(request_id)
        if record is None or record.requester_email != session.email:
            return None
        return record

    async def _owned_post(
        self, request: Request
    ) -> tuple[Session, FormData, RequestRecord] | Response:
        """For a form posted about one of the requester's requests: the session, the form
        and the request; else the answer refusing it (CSRF, size, not signed in, not
        theirs)."""
        session, data = await self._checked(request)
        if isinstance(data, Response):
            return data
        if session.email is None:
            return self._to_sign_in(session, request)
        record = await self._own(request, session)
        if record is None:
            return await self._not_found(request, session)
        return session, data, record

    async def _not_found(self, request: Request, session: Session) -> Response:
        return await self.notice(
            request,
            session,
            "Demande introuvable",
            "Cette demande n'existe pas, ou elle n'est pas la vôtre.",
            status=404,
        )

    async def _show(
        self,
        request: Request,
        session: Session,
        record: RequestRecord,
        *,
        form: RequestForm | None = None,
        errors: dict[str, str] | None = None,
        error: str | None = None,
        info: str | None = None,
        status: int = 200,
    ) -> Response:
        reveal = await self.repository.reveal_for_request(record.id)
        key_pending = (
            reveal is not None
            and reveal.revealed_at is None
            and reveal.expires_at > time.time()
            and record.state is State.validated
        )
        notice = NOTICES.get(request.query_params.get("ok", ""))
        return await self.page(
            request,
            session,
            "request.html",
            {
                "record": record,
                "form": form or record.form,
                "errors": errors or {},
                "error": error,
                "info": info or notice,
                "events": await self.repository.events(record.id),
                "documents": await self.repository.documents(record.id),
                "catalogue": self.catalogue,
                "editable": _editable(record),
                "key_pending": key_pending,
                "key_shown": reveal is not None and reveal.revealed_at is not None,
            },
            status=status,
        )

    async def my_request(self, request: Request) -> Response:
        session = await self._session(request)
        if session.email is None:
            return self._to_sign_in(session, request)
        record = await self._own(request, session)
        if record is None:
            return await self._not_found(request, session)
        return await self._show(request, session, record)

    async def edit_request(self, request: Request) -> Response:
        owned = await self._owned_post(request)
        if isinstance(owned, Response):
            return owned
        session, data, record = owned
        form = request_form(data, data.getlist)
        return await self._save(request, session, record, form, data)

    async def requester_action(self, request: Request) -> Response:
        owned = await self._owned_post(request)
        if isinstance(owned, Response):
            return owned
        session, data, record = owned
        action = REQUESTER_ACTIONS.get(request.path_params["action"])
        if action is None:
            return await self._not_found(request, session)
        event, notice = action
        try:
            await self.workflow.act(
                record,
                event,
                Role.requester,
                record.requester_email,  # the signed-in requester's (see _own)
                message=str(data.get("message", "")),
                version=_version(data),
            )
        except AlreadyDone as done:
            return await self._show(request, session, record, info=done.message)
        except NotAllowed as refused:
            return await self._show(request, session, record, error=refused.message, status=409)
        return self.redirect(session, f"/habilitation/demandes/{record.id}?ok={notice}")

    async def reveal_key(self, request: Request) -> Response:
        owned = await self._owned_post(request)
        if isinstance(owned, Response):
            return owned
        session, _, record = owned
        reveal = await self.repository.reveal_for_request(record.id)
        if reveal is None or record.state is not State.validated:
            return await self._show(
                request, session, record, error="Aucune clé n'est à afficher.", status=409
            )
        return await self._reveal(
            request,
            session,
            reveal.id,
            reveal.application_id,
            reveal.key_expires_at,
            back=f"/habilitation/demandes/{record.id}",
        )

    async def _reveal(
        self,
        request: Request,
        session: Session,
        reveal_id: str,
        application_id: str,
        key_expires_at: float | None,
        *,
        back: str,
    ) -> Response:
        if not await self.repository.claim_reveal(reveal_id, time.time()):
            return await self.notice(
                request,
                session,
                "Clé déjà affichée",
                "Cette clé a déjà été affichée une fois ; elle ne l'est jamais deux fois. "
                "Si elle a été perdue, demandez à l'équipe d'instruction de la révoquer.",
                status=410,
            )
        try:
            issued = await self.workflow.credentials.issue_key(
                application_id, expires_at=key_expires_at
            )
        except BaseException:
            await self.repository.release_reveal(reveal_id)
            raise
        self.workflow.log.info("key_revealed", application_id=application_id, key_id=issued.key_id)
        return await self.page(
            request,
            session,
            "key.html",
            {"secret": issued.secret, "expires_at": issued.expires_at, "back": back},
            headers=NO_STORE,
        )

    async def document(self, request: Request) -> Response:
        session = await self._session(request)
        if session.email is None:
            return self._to_sign_in(session, request)
        record = await self.repository.get(request.path_params["id"])
        allowed = record is not None and (
            record.requester_email == session.email
            or await self.repository.is_instructor(session.email)
        )
        found = (
            await self.repository.document(record.id, request.path_params["document"])
            if record is not None and allowed
            else None
        )
        if found is None:
            return await self._not_found(request, session)
        filename, content = found
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100] or "document.pdf"
        return Response(
            content,
            media_type="application/pdf",
            headers={
                "content-disposition": f'attachment; filename="{safe}"',
                "x-content-type-options": "nosniff",
            },
        )

    # -- the instruction space -------------------------------------------------------------

    async def _instructor(self, request: Request, session: Session) -> Response | None:
        if session.email is None:
            return self._to_sign_in(session, request)
        if not await self.repository.is_instructor(session.email):
            return await self.notice(
                request,
                session,
                "Accès réservé",
                "Cet espace est réservé à l'équipe d'instruction.",
                status=403,
            )
        return None

    async def instruction(self, request: Request) -> Response:
        session = await self._session(request)
        refused = await self._instructor(request, session)
        if refused is not None:
            return refused
        wanted = request.query_params.get("etat", State.submitted.value)
        state = State(wanted) if wanted in State.__members__ else None
        every = await self.repository.list_requests()
        counts = {s: sum(1 for r in every if r.state is s) for s in State}
        shown = [r for r in every if state is None or r.state is state]
        return await self.page(
            request,
            session,
            "instruction.html",
            {"requests": shown, "counts": counts, "state": state},
        )

    async def _instruction_page(
        self,
        request: Request,
        session: Session,
        record: RequestRecord,
        *,
        error: str | None = None,
        info: str | None = None,
        status: int = 200,
    ) -> Response:
        return await self.page(
            request,
            session,
            "instruction_request.html",
            {
                "record": record,
                "form": record.form,
                "events": await self.repository.events(record.id),
                "documents": await self.repository.documents(record.id),
                "catalogue": self.catalogue,
                "error": error,
                "info": info or NOTICES.get(request.query_params.get("ok", "")),
            },
            status=status,
        )

    async def instruction_request(self, request: Request) -> Response:
        session = await self._session(request)
        refused = await self._instructor(request, session)
        if refused is not None:
            return refused
        record = await self.repository.get(request.path_params["id"])
        if record is None:
            return await self._not_found(request, session)
        return await self._instruction_page(request, session, record)

    async def instructor_action(self, request: Request) -> Response:
        session, data = await self._checked(request)
        if isinstance(data, Response):
            return data
        refused = await self._instructor(request, session)
        if refused is not None:
            return refused
        record = await self.repository.get(request.path_params["id"])
        event = INSTRUCTOR_ACTIONS.get(request.path_params["action"])
        if record is None or event is None:
            return await self._not_found(request, session)
        try:
            await self.workflow.act(
                record,
                event,
                Role.instructor,
                session.email or "",
                message=str(data.get("message", "")),
                version=_version(data),
            )
        except AlreadyDone as done:
            return await self._instruction_page(request, session, record, info=done.message)
        except NotAllowed as not_allowed:
            return await self._instruction_page(
                request, session, record, error=not_allowed.message, status=409
            )
        return self.redirect(session, f"/habilitation/instruction/demandes/{record.id}?ok=action")

    # -- a key link e-mailed after a DataPass validation -----------------------------------

    async def key_link(self, request: Request) -> Response:
        session = await self._session(request)
        reveal = await self.repository.reveal_by_token(token_hash(request.path_params["token"]))
        if reveal is None or reveal.revealed_at is not None or reveal.expires_at <= time.time():
            return await self.notice(
                request,
                session,
                "Lien expiré ou déjà utilisé",
                "Ce lien a déjà servi ou a expiré : une clé n'est affichée qu'une fois.",
                status=410,
            )
        return await self.page(
            request,
            session,
            "key_link.html",
            {"token": request.path_params["token"]},
            headers={"referrer-policy": "no-referrer", **NO_STORE},
        )

    async def key_link_use(self, request: Request) -> Response:
        session, data = await self._checked(request)
        if isinstance(data, Response):
            return data
        reveal = await self.repository.reveal_by_token(token_hash(request.path_params["token"]))
        if reveal is None:
            return await self.notice(
                request,
                session,
                "Lien expiré ou déjà utilisé",
                "Ce lien a déjà servi ou a expiré : une clé n'est affichée qu'une fois.",
                status=410,
            )
        return await self._reveal(
            request,
            session,
            reveal.id,
            reveal.application_id,
            reveal.key_expires_at,
            back="/habilitation",
        )


Endpoint = Callable[[Request], Awaitable[Response]]
MENU_LABEL = "Demander un accès"


def _route(path: str, get: Endpoint | None, post: Endpoint | None) -> WebRoute:
    if get is not None and post is not None:

        async def either(request: Request) -> Response:
            if request.method in ("GET", "HEAD"):
                return await get(request)
            return await _closing(post)(request)

        return WebRoute(path=path, endpoint=either, methods=("GET", "POST"))
    if get is not None:
        return WebRoute(path=path, endpoint=get, methods=("GET",))
    assert post is not None
    return WebRoute(path=path, endpoint=_closing(post), methods=("POST",))


def _closing(endpoint: Endpoint) -> Endpoint:
    """The endpoint, then the posted form's files closed (an uploaded PDF is spooled)."""

    async def closing(request: Request) -> Response:
        try:
            return await endpoint(request)
        finally:
            await request.close()

    return closing


def _version(data: FormData) -> int | None:
    value = data.get("version")
    # ASCII digits only: str.isdigit() admits "²", which int() refuses.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


async def _pdf(data: FormData) -> tuple[tuple[str, bytes] | None, str | None]:
    """The PDF joined to the form (name, content), or the problem with it."""
    upload = data.get("legal_document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, None
    content = await upload.read(MAX_PDF + 1)
    if len(content) > MAX_PDF:
        return None, "Le document dépasse 10 Mo."
    if not content:
        return None, "Le document est vide."
    if not content.startswith(b"%PDF-") or b"%%EOF" not in content[-2048:]:
        return None, "Le document n'est pas un PDF."
    return (upload.filename[:200], content), None


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%d/%m/%Y à %H:%M UTC")


def _editable(record: RequestRecord) -> bool:
    return requester_may_edit(record.state, from_datapass=record.datapass_id is not None)
