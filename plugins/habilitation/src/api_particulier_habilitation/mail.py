"""Sending e-mail: through SMTP when ``smtp_url`` is set, else as ``.eml`` files.

Without a server (a laptop, the embedded mode) every message is written under
``<data dir>/outbox/`` and its subject logged, so the links it carries can be followed.
The log never holds an address: only the subject, which names no person.
"""

from __future__ import annotations

import datetime
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import anyio.to_thread
import structlog
from api_particulier import ConfigError


class Mailer:
    def __init__(
        self,
        *,
        sender: str,
        smtp_url: str | None,
        outbox: Path,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self.sender = sender
        self.outbox = outbox
        self.log = log
        self._smtp = urlsplit(smtp_url) if smtp_url else None
        if self._smtp is not None and (
            self._smtp.scheme not in ("smtp", "smtps") or not self._smtp.hostname
        ):
            raise ConfigError(
                ["[plugins.habilitation] smtp_url: use smtp://host[:port] or smtps://host[:port]"]
            )

    def compose(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="api-particulier")
        message.set_content(body)
        return message

    async def send(self, to: str, subject: str, body: str) -> None:
        message = self.compose(to, subject, body)
        if self._smtp is None:
            await anyio.to_thread.run_sync(self._write, message)
            self.log.info("mail_written", subject=subject)
        else:
            await anyio.to_thread.run_sync(self._deliver, message)
            self.log.info("mail_sent", subject=subject)

    def _write(self, message: EmailMessage) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        # Named by the time to the microsecond: the files sort in the order written.
        written = datetime.datetime.now(datetime.UTC)
        name = f"{written:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        (self.outbox / name).write_bytes(bytes(message))

    def _deliver(self, message: EmailMessage) -> None:
        url = self._smtp
        assert url is not None and url.hostname is not None
        if url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                url.hostname, url.port or 465, timeout=10, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(url.hostname, url.port or 25, timeout=10)
        with client:
            client.ehlo()
            if url.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
