"""``api-particulier-cnaf-simulator``: a local CNAF service to try the live backend.

::

    api-particulier-cnaf-simulator pki ./cnaf-pki          # test CA, server and client certs
    api-particulier-cnaf-simulator serve --pki ./cnaf-pki --port 8443 [--latency 0.2] [--mode fault]

Then point the plugin at it::

    [plugins.cnaf]
    backend = "soap"
    url = "https://127.0.0.1:8443/sgmap/wswdd/v1"
    client_cert = "./cnaf-pki/client.pem"
    client_key = "./cnaf-pki/client-key.pem"
    ca = "./cnaf-pki/ca.pem"
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from .pki import generate_pki
from .server import CnafSimulator, Mode, load_pki

MODES = ("normal", "fault", "garbage", "hang", "unavailable")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="api-particulier-cnaf-simulator",
        description="A local stand-in for CNAF's demanderDocumentWeb SOAP service (mutual TLS).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    pki = commands.add_parser("pki", help="write a test CA, a server and a client certificate")
    pki.add_argument("directory", type=Path)
    serve = commands.add_parser("serve", help="serve the simulator over HTTPS")
    serve.add_argument("--pki", type=Path, required=True, help="directory written by `pki`")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443)
    serve.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    serve.add_argument("--mode", choices=MODES, default="normal", help="failure for every call")
    serve.add_argument("--lf", action="store_true", help="LF line ends in the MIME framing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "pki":
        written = generate_pki(args.directory)
        print(f"CA:     {written.ca}")
        print(f"server: {written.server_cert} {written.server_key}")
        print(f"client: {written.client_cert} {written.client_key}")
        return 0
    try:
        pki = load_pki(args.pki)
    except FileNotFoundError as exc:
        print(f"missing {exc}: run `api-particulier-cnaf-simulator pki {args.pki}` first")
        return 2
    simulator = CnafSimulator(
        pki,
        host=args.host,
        port=args.port,
        latency=args.latency,
        line_end=b"\n" if args.lf else b"\r\n",
    )
    simulator.mode = cast(Mode, args.mode)
    print(f"CNAF simulator on {simulator.url} (client certificate required)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        simulator.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
