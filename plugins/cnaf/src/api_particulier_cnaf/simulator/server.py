"""The simulator's HTTPS server: mutual TLS, ``POST /sgmap/wswdd/v1`` and ``GET ?wsdl``.

It runs in background threads so that one process can host it next to an asyncio
application (tests) or alone (the command). The TLS handshake happens in the connection's
own thread, so a client without a certificate is refused without holding up the others.

What it answers, for a POSTed ``matricule``/``codePostal``:

- a response registered with :meth:`CnafSimulator.register` (the recorded samples in tests);
- the magic identifiers of :mod:`api_particulier_cnaf.magic` (error codes, garbage, SOAP
  fault, no answer in time);
- a sandbox household, as an MTOM answer with the escaped ``drtData`` document;
- else ``codeRetour`` 133 (dossier inexistant), as CNAF does.

``mode`` overrides all of this for every call (``"fault"``, ``"garbage"``, ``"hang"``,
``"unavailable"``), and ``latency`` delays every answer.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ..households import households
from ..magic import NOT_FOUND_CODE, magic_case
from . import wire
from .pki import TestPki

PATH = "/sgmap/wswdd/v1"
MAX_REQUEST_BYTES = 64 * 1024
GARBAGE = b"<html><body><h1>Service temporairement indisponible</h1></body></html>"
WSDL = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
    b'targetNamespace="http://v1.ws.wsdemandedocumentcafweb.cnaf/" name="WsDemandeDocumentWeb"/>'
)

Mode = Literal["normal", "fault", "garbage", "hang", "unavailable"]


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def server_context(pki: TestPki) -> ssl.SSLContext:
    """TLS for the simulator: its certificate, and a client certificate from the test CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(cafile=pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class CnafSimulator:
    def __init__(
        self,
        pki: TestPki,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        hang_seconds: float = 30.0,
        line_end: bytes = b"\r\n",
    ) -> None:
        self.pki = pki
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.line_end = line_end
        self.mode: Mode = "normal"
        # Counters read by tests: POSTs received, and connections refused at the handshake.
        self.calls = 0
        self.refused = 0
        # (matricule, code postal) of every request, as they arrived.
        self.received: list[tuple[str, str]] = []
        self._answers: dict[tuple[str, str], Answer] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server((host, port), _Handler, self, server_context(pki))
        self._thread: threading.Thread | None = None
        self.host = host

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self.host
        return f"https://{host}:{self.port}{PATH}"

    def register(self, numero: str, code_postal: str, answer: Answer) -> None:
        self._answers[(numero, code_postal)] = answer

    def start(self) -> CnafSimulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="cnaf-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the command's way)."""
        try:
            self._server.serve_forever()
        finally:
            self._stopping.set()
            self._server.server_close()

    def __enter__(self) -> CnafSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers --------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def count_call(self) -> None:
        with self._lock:
            self.calls += 1

    def count_refusal(self) -> None:
        with self._lock:
            self.refused += 1

    def wait(self, seconds: float) -> None:
        """Sleep, but wake up when the simulator stops."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def answer(self, request_body: bytes) -> Answer | None:
        """The answer to one POST; None means: say nothing (the handler hangs, then drops)."""
        self.wait(self.latency)
        if self.mode == "hang":
            return None
        if self.mode == "fault":
            return Answer(500, "text/xml; charset=utf-8", wire.soap_fault())
        if self.mode == "garbage":
            return Answer(200, "text/html", GARBAGE)
        if self.mode == "unavailable":
            return Answer(503, "text/html", GARBAGE)
        received = _identifiers(request_body)
        if received is None:
            return Answer(500, "text/xml; charset=utf-8", wire.soap_fault("Unmarshalling Error"))
        with self._lock:
            self.received.append(received)
        identifiers = (received[0].strip(), received[1].strip())
        registered = self._answers.get(identifiers)
        if registered is not None:
            return registered
        case = magic_case(*identifiers)
        if case is not None:
            kind, code = case
            if kind == "code":
                return self._mtom(wire.error_envelope(code))
            if kind == "unusable":
                return Answer(200, "text/html", GARBAGE)
            if kind == "fault":
                return Answer(500, "text/xml; charset=utf-8", wire.soap_fault())
            return None
        household = households().get(identifiers)
        if household is None:
            return self._mtom(wire.error_envelope(NOT_FOUND_CODE))
        return self._mtom(wire.success_envelope(household.body))

    def _mtom(self, envelope: str) -> Answer:
        body, content_type = wire.mtom(envelope, line_end=self.line_end)
        return Answer(200, content_type, body)


def _identifiers(request_body: bytes) -> tuple[str, str] | None:
    """``matricule`` and ``codePostal`` of a demanderDocumentWeb request, as sent."""
    try:
        root = fromstring(request_body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError):
        return None
    matricule = codepostal = None
    for element in root.iter():
        name = element.tag.rpartition("}")[2]
        if name == "matricule":
            matricule = element.text or ""
        elif name == "codePostal":
            codepostal = element.text or ""
    if matricule is None or codepostal is None:
        return None
    return matricule, codepostal


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        simulator: CnafSimulator,
        context: ssl.SSLContext,
    ) -> None:
        self.simulator = simulator
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Runs in the connection's thread: the handshake, then the HTTP exchange.
        assert isinstance(request, socket.socket)
        try:
            request.settimeout(10)
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            self.simulator.count_refusal()
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients dropping connections are part of the tests; stay quiet.
        return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "Apache-Coyote/1.1"

    def version_string(self) -> str:
        return self.server_version

    def do_POST(self) -> None:
        simulator = self.server.simulator
        if self.path.split("?")[0] != PATH:
            self._send(Answer(404, "text/plain", b"Not Found"))
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._send(Answer(413, "text/plain", b"Request Entity Too Large"))
            return
        body = self.rfile.read(length)
        simulator.count_call()
        answer = simulator.answer(body)
        if answer is None:
            self._hang()
            self.close_connection = True
            return
        self._send(answer)

    def _hang(self) -> None:
        """Answer nothing for ``hang_seconds``, or until the client gives up and leaves.

        Noticing the client leave, as a real server does, lets its TLS close complete
        instead of waiting on a peer that never reads.
        """
        simulator = self.server.simulator
        deadline = time.monotonic() + simulator.hang_seconds
        while time.monotonic() < deadline and not simulator.stopping:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if not readable:
                continue
            try:
                if not self.connection.recv(1):
                    return
            except (ssl.SSLError, OSError):
                return

    def do_GET(self) -> None:
        if self.path == PATH + "?wsdl":
            self._send(Answer(200, "text/xml; charset=utf-8", WSDL))
        else:
            self._send(Answer(404, "text/plain", b"Not Found"))

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        # No access log: request lines would be the only trace, and carry nothing useful.
        return None


def load_pki(directory: Path) -> TestPki:
    pki = TestPki(directory)
    for path in (pki.ca, pki.server_cert, pki.server_key):
        if not path.is_file():
            raise FileNotFoundError(path)
    return pki
