"""``api-particulier habilitation``: instructors, and the requests for operators."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

import click
import structlog
from api_particulier import ApiParticulierError, CommandContext, Stores

from .catalogue import Catalogue
from .config import HabilitationConfig
from .form import EMAIL
from .mail import Mailer
from .repository import Repository, RequestRecord
from .states import STATE_LABELS, Event, NotAllowed, Role, State
from .web import when
from .workflow import Invalid, Workflow

ACTOR = "ligne de commande"


def _workflow(ctx: CommandContext, stores: Stores) -> Workflow:
    config: HabilitationConfig = ctx.plugin_config("habilitation")
    log = structlog.get_logger("api_particulier.plugins.habilitation").bind(plugin="habilitation")
    smtp = config.smtp_url
    mailer = Mailer(
        sender=config.mail_from,
        smtp_url=smtp if isinstance(smtp, str) or smtp is None else smtp.reveal(),
        outbox=ctx.settings.data_dir / "outbox",
        log=log,
    )
    return Workflow(
        Repository(stores.database),
        stores.credentials,
        mailer,
        config,
        Catalogue(stores.providers),
        log,
    )


def _run(ctx: CommandContext, work: Callable[[Workflow], Awaitable[int]]) -> int:
    async def with_stores(stores: Stores) -> int:
        return await work(_workflow(ctx, stores))

    return ctx.run(with_stores)


@click.group(help="access requests: instructors, requests and their instruction")
def habilitation() -> None:
    pass


@habilitation.group(help="the people who instruct requests")
def instructor() -> None:
    pass


@instructor.command("add", help="let EMAIL sign in to the instruction space")
@click.argument("email")
@click.pass_obj
def instructor_add(ctx: CommandContext, email: str) -> int:
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise ApiParticulierError("not an e-mail address")

    async def work(workflow: Workflow) -> int:
        import time

        added = await workflow.repository.add_instructor(email, time.time())
        click.echo("instructor added" if added else "already an instructor")
        return 0

    return _run(ctx, work)


@instructor.command("remove", help="withdraw EMAIL from the instruction space")
@click.argument("email")
@click.pass_obj
def instructor_remove(ctx: CommandContext, email: str) -> int:
    async def work(workflow: Workflow) -> int:
        if not await workflow.repository.remove_instructor(email.strip().lower()):
            raise ApiParticulierError("no such instructor")
        click.echo("instructor removed")
        return 0

    return _run(ctx, work)


@instructor.command("list", help="list the instructors")
@click.pass_obj
def instructor_list(ctx: CommandContext) -> int:
    async def work(workflow: Workflow) -> int:
        for email in await workflow.repository.instructors():
            click.echo(email)
        return 0

    return _run(ctx, work)


@habilitation.command("list", help="list the requests, the latest first")
@click.option("--state", type=click.Choice([s.value for s in State]), default=None)
@click.pass_obj
def list_requests(ctx: CommandContext, state: str | None) -> int:
    async def work(workflow: Workflow) -> int:
        found = await workflow.repository.list_requests(state=State(state) if state else None)
        for record in found:
            click.echo(
                f"{record.id}\t{record.state.value}\t{when(record.updated_at)}\t{record.form.title}"
            )
        if not found:
            click.echo("no request", err=True)
        return 0

    return _run(ctx, work)


@habilitation.command("show", help="show one request and its timeline")
@click.argument("request_id")
@click.pass_obj
def show(ctx: CommandContext, request_id: str) -> int:
    async def work(workflow: Workflow) -> int:
        record = await _get(workflow, request_id)
        form = record.form
        click.echo(f"request      {record.id}")
        click.echo(f"state        {record.state.value} ({STATE_LABELS[record.state]})")
        click.echo(f"title        {form.title}")
        click.echo(f"siret        {form.siret}")
        click.echo(f"scopes       {', '.join(form.scopes)}")
        click.echo(f"application  {record.application_id or '-'}")
        if record.datapass_id:
            click.echo(f"datapass     {record.datapass_id}")
        click.echo("timeline")
        for event in await workflow.repository.events(record.id):
            line = f"  {event.seq:>3} {when(event.at)} {event.event.value} ({event.role.value})"
            click.echo(line + (f": {event.message}" if event.message else ""))
        return 0

    return _run(ctx, work)


async def _get(workflow: Workflow, request_id: str) -> RequestRecord:
    record = await workflow.repository.get(request_id)
    if record is None:
        raise ApiParticulierError(f"no request {request_id}")
    return record


def _action(name: str, event: Event, help_text: str, *, message_required: bool) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("request_id")
    @click.option(
        "--message", default=None, required=message_required, help="the message the requester reads"
    )
    @click.pass_obj
    def command(ctx: CommandContext, request_id: str, message: str | None) -> int:
        async def work(workflow: Workflow) -> int:
            record = await _get(workflow, request_id)
            try:
                after = await workflow.act(record, event, Role.system, ACTOR, message=message)
            except Invalid as invalid:
                raise ApiParticulierError(f"fields to correct: {invalid}") from None
            except NotAllowed as refused:
                print(refused.message, file=sys.stderr)
                return 1
            click.echo(f"{after.id}: {after.state.value}")
            return 0

        return _run(ctx, work)

    return command


habilitation.add_command(
    _action("validate", Event.approve, "validate a submitted request", message_required=False)
)
habilitation.add_command(
    _action(
        "refuse", Event.refuse, "refuse a request (--message: the reason)", message_required=True
    )
)
habilitation.add_command(
    _action(
        "request-changes",
        Event.request_changes,
        "ask the requester for changes (--message: which)",
        message_required=True,
    )
)
habilitation.add_command(
    _action(
        "revoke",
        Event.revoke,
        "revoke a validated request and its keys at once",
        message_required=True,
    )
)
