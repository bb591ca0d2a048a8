"""E-mail through a real SMTP server (aiosmtpd on loopback), and the outbox of the
embedded mode: .eml files, the subject logged, never the address."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiosmtpd.controller import Controller
from api_particulier import ConfigError
from api_particulier_habilitation.mail import Mailer

from .support import REQUESTER, csrf, service, settings_for

pytestmark = pytest.mark.anyio


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_sign_in_link_through_smtp(
    tmp_path: Path, smtp_server: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    inbox, port = smtp_server
    settings = settings_for(
        tmp_path, smtp_url=f"smtp://127.0.0.1:{port}", mail_from="habilitation@exemple.gouv.fr"
    )
    async with service(settings) as c:
        page = await c.http.get("/habilitation/connexion")
        answer = await c.http.post(
            "/habilitation/connexion", data={"csrf": csrf(page), "email": REQUESTER}
        )
        assert answer.status_code == 200
    ((sender, recipients, content),) = inbox.received
    assert sender == "habilitation@exemple.gouv.fr"
    assert recipients == [REQUESTER]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "Votre lien de connexion à API Particulier"
    assert "http://testserver/habilitation/connexion/" in content.decode()
    assert not (tmp_path / "outbox").exists()
    logged = "".join(capsys.readouterr())
    assert "mail_sent" in logged and REQUESTER not in logged


async def test_the_outbox(tmp_path: Path) -> None:
    log = structlog.get_logger("test")
    mailer = Mailer(sender="a@exemple.fr", smtp_url=None, outbox=tmp_path / "outbox", log=log)
    await mailer.send("b@exemple.fr", "Sujet", "Corps du message é")
    (written,) = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["To"] == "b@exemple.fr"
    assert message["Subject"] == "Sujet"


def test_a_bad_smtp_url_is_a_configuration_error(tmp_path: Path) -> None:
    log = structlog.get_logger("test")
    with pytest.raises(ConfigError, match="smtp_url"):
        Mailer(sender="a@exemple.fr", smtp_url="http://mail", outbox=tmp_path, log=log)
