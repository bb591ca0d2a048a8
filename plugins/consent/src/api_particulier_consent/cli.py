"""``api-particulier consent``: consent tooling for administrations and integrators.

- ``policy APP --accept KIND [--accept KIND …] [--require-recipient]`` sets an application's
  accepted evidence (APP: its id or its unique name);
- ``add-key APP PUBLIC_KEY_FILE [--kid KID]`` registers a receipt-verifying key (PEM or
  JWK) and prints its ``kid``;
- ``sign --private-key FILE --scope S … --purpose TEXT --param name=value … [--ttl S]``
  prints a receipt, for integrators' tests.

Settings changes reach running servers within the key cache time (``[core.auth] cache_ttl``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import msgspec
from api_particulier import ApiParticulierError, CommandContext, ConfigError, KeyStore, Stores

from .keys import UnusableKey, load_public_key, public_jwk, thumbprint
from .policy import PolicyError, compile_policy
from .signing import load_private_key, sign_receipt

KINDS = ("identifiers", "receipt", "franceconnect")


@click.group(name="consent", help="set applications' consent policies and keys; sign test receipts")
def consent_commands() -> None:
    pass


async def _application(store: KeyStore, ref: str) -> Any:
    found = await store.application_by_id(ref) or await store.application_by_name(ref)
    if found is None:
        raise ConfigError([f"no application has the id or name {ref!r}"])
    return found


async def _update(store: KeyStore, ref: str, change: dict[str, Any]) -> Any:
    application = await _application(store, ref)
    consent = {**application.settings.get("consent", {}), **change}
    try:
        compile_policy(consent, ["identifiers"])
    except PolicyError as exc:
        raise ConfigError([str(exc)]) from None
    settings = {**application.settings, "consent": consent}
    updated = msgspec.structs.replace(application, settings=settings)
    await store.update_application(updated)
    return updated


@consent_commands.command(help="set the evidence an application must present")
@click.argument("app", metavar="APP")
@click.option(
    "--accept",
    "accepted",
    multiple=True,
    required=True,
    type=click.Choice(KINDS),
    metavar="KIND",
    help="an accepted kind of evidence, in order: " + ", ".join(KINDS),
)
@click.option("--require-recipient", is_flag=True, help="the recipient SIRET becomes mandatory")
@click.pass_obj
def policy(
    ctx: CommandContext, app: str, accepted: tuple[str, ...], require_recipient: bool
) -> int:
    change = {"evidence": list(accepted), "recipient_required": require_recipient}

    async def work(stores: Stores) -> int:
        application = await _update(stores.keys, app, change)
        print(f"application {application.name}: accepts {' then '.join(accepted)}")
        return 0

    return ctx.run(work)


def _read_key(path: Path, kid: str | None) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("{"):
            key = load_public_key(jwk=json.loads(text))
        else:
            key = load_public_key(pem=text)
    except (UnusableKey, ValueError) as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    except OSError as exc:
        raise ApiParticulierError(str(exc)) from None
    return {"kid": kid or thumbprint(key), "jwk": public_jwk(key)}


@consent_commands.command(name="add-key", help="register a public key verifying receipts")
@click.argument("app", metavar="APP")
@click.argument("key_file", metavar="PUBLIC_KEY_FILE")
@click.option("--kid", help="the key id (default: its RFC 7638 thumbprint)")
@click.pass_obj
def add_key(ctx: CommandContext, app: str, key_file: str, kid: str | None) -> int:
    entry = _read_key(Path(key_file), kid)

    async def work(stores: Stores) -> int:
        application = await _application(stores.keys, app)
        current = application.settings.get("consent", {})
        keys = [k for k in current.get("public_keys", []) if k.get("kid") != entry["kid"]]
        await _update(stores.keys, application.id, {"public_keys": [*keys, entry]})
        print(entry["kid"])
        return 0

    return ctx.run(work)


@consent_commands.command(help="print a consent receipt (for tests)")
@click.option("--private-key", required=True, metavar="FILE", help="PEM private key")
@click.option("--scope", "scopes", multiple=True, required=True, metavar="SCOPE")
@click.option("--purpose", required=True, metavar="TEXT")
@click.option(
    "--param",
    "params",
    multiple=True,
    required=True,
    metavar="NAME=VALUE",
    help="a subject parameter of the route, e.g. numeroFiscal=1234567890123",
)
@click.option("--ttl", type=int, default=600, metavar="SECONDS")
@click.option("--kid", help="the key id registered with add-key")
@click.option("--audience", default="api-particulier")
def sign(
    private_key: str,
    scopes: tuple[str, ...],
    purpose: str,
    params: tuple[str, ...],
    ttl: int,
    kid: str | None,
    audience: str,
) -> int:
    subject: dict[str, str] = {}
    for pair in params:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError([f"--param {pair!r}: expected NAME=VALUE"])
        subject[name] = value.replace(" ", "")
    try:
        key = load_private_key(Path(private_key).read_bytes())
    except (OSError, ValueError) as exc:
        raise ApiParticulierError(str(exc)) from None
    print(
        sign_receipt(
            key,
            kid=kid,
            params=subject,
            scopes=list(scopes),
            purpose=purpose,
            ttl=ttl,
            audience=audience,
        )
    )
    return 0
