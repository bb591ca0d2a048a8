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

import argparse
import json
from pathlib import Path
from typing import Any

import anyio
from api_particulier import admin
from api_particulier.errors import ApiParticulierError, ConfigError
from api_particulier.settings import Settings
from api_particulier.store import KeyStore, open_stores
from api_particulier.store.models import Application

from .keys import UnusableKey, load_public_key, public_jwk, thumbprint
from .policy import PolicyError, compile_policy
from .signing import load_private_key, sign_receipt

KINDS = ("identifiers", "receipt", "franceconnect")


HELP = "set applications' consent policies and keys; sign test receipts"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``consent`` actions to the ``api-particulier consent`` parser."""
    commands = parser.add_subparsers(dest="consent_action", metavar="ACTION", required=True)

    policy = commands.add_parser("policy", help="set the evidence an application must present")
    policy.add_argument("app", metavar="APP", help="the application's id or name")
    policy.add_argument(
        "--accept", action="append", required=True, choices=KINDS, metavar="KIND",
        help="an accepted kind of evidence, in order: " + ", ".join(KINDS),
    )  # fmt: skip
    policy.add_argument(
        "--require-recipient", action="store_true", help="the recipient SIRET becomes mandatory"
    )

    add_key = commands.add_parser("add-key", help="register a public key verifying receipts")
    add_key.add_argument("app", metavar="APP", help="the application's id or name")
    add_key.add_argument("key_file", metavar="PUBLIC_KEY_FILE", help="PEM or JWK (JSON) file")
    add_key.add_argument("--kid", help="the key id (default: its RFC 7638 thumbprint)")

    sign = commands.add_parser("sign", help="print a consent receipt (for tests)")
    sign.add_argument("--private-key", required=True, metavar="FILE", help="PEM private key")
    sign.add_argument("--scope", action="append", required=True, metavar="SCOPE")
    sign.add_argument("--purpose", required=True, metavar="TEXT")
    sign.add_argument(
        "--param", action="append", required=True, metavar="NAME=VALUE",
        help="a subject parameter of the route, e.g. numeroFiscal=1234567890123",
    )  # fmt: skip
    sign.add_argument("--ttl", type=int, default=600, metavar="SECONDS")
    sign.add_argument("--kid", help="the key id registered with add-key")
    sign.add_argument("--audience", default="api-particulier")


async def _application(store: KeyStore, ref: str) -> Application:
    found = await store.application_by_id(ref) or await store.application_by_name(ref)
    if found is None:
        raise ConfigError([f"no application has the id or name {ref!r}"])
    return found


async def _update(settings: Settings, ref: str, change: dict[str, Any]) -> Application:
    store, _ = open_stores(settings)
    await store.open()
    try:
        application = await _application(store, ref)
        consent = {**application.settings.get("consent", {}), **change}
        try:
            compile_policy(consent, ["identifiers"])
        except PolicyError as exc:
            raise ConfigError([str(exc)]) from None
        return await admin.update_settings(store, application, {"consent": change})
    finally:
        await store.close()


def _read_key(path: Path, kid: str | None) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("{"):
            key = load_public_key(jwk=json.loads(text))
        else:
            key = load_public_key(pem=text)
    except (UnusableKey, ValueError) as exc:
        raise ConfigError([f"{path}: {exc}"]) from None
    return {"kid": kid or thumbprint(key), "jwk": public_jwk(key)}


async def _add_key(settings: Settings, args: argparse.Namespace) -> int:
    entry = _read_key(Path(args.key_file), args.kid)
    store, _ = open_stores(settings)
    await store.open()
    try:
        application = await _application(store, args.app)
        current = application.settings.get("consent", {})
        keys = [k for k in current.get("public_keys", []) if k.get("kid") != entry["kid"]]
    finally:
        await store.close()
    await _update(settings, application.id, {"public_keys": [*keys, entry]})
    print(entry["kid"])
    return 0


def _sign(args: argparse.Namespace) -> int:
    params: dict[str, str] = {}
    for pair in args.param:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError([f"--param {pair!r}: expected NAME=VALUE"])
        params[name] = value.replace(" ", "")
    key = load_private_key(Path(args.private_key).read_bytes())
    print(
        sign_receipt(
            key,
            kid=args.kid,
            params=params,
            scopes=args.scope,
            purpose=args.purpose,
            ttl=args.ttl,
            audience=args.audience,
        )
    )
    return 0


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out ``api-particulier consent ACTION``; errors become one line and a status."""
    try:
        if args.consent_action == "sign":
            return _sign(args)
        if args.consent_action == "add-key":
            return anyio.run(_add_key, settings, args)
        change = {"evidence": args.accept, "recipient_required": args.require_recipient}
        application = anyio.run(_update, settings, args.app, change)
        print(f"application {application.name}: accepts {' then '.join(args.accept)}")
        return 0
    except (OSError, ValueError) as exc:
        raise ApiParticulierError(str(exc)) from None
