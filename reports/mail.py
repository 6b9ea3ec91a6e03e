"""E-mail: one message per report (multipart/alternative: text/plain, then multipart/related
holding the HTML and its PNG charts by Content-ID), sent over SMTP with STARTTLS, retried with a
small backoff. Credentials come from the environment (names in the config), never logged."""
from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .config import SmtpSettings
from .render import Rendered


def build_message(rendered: Rendered, sender: str, recipients: tuple[str, ...], report_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    if recipients:
        msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="aispend.local")
    msg["X-Aispend-Report"] = report_id
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    html_part = msg.get_payload()[1]
    for image in rendered.images:
        # add_related turns the HTML part into multipart/related [text/html, image/png...]
        html_part.add_related(image.png, maintype="image", subtype="png", cid=f"<{image.cid}>",
                              filename=f"{image.name}.png", disposition="inline")
        html_part.get_payload()[-1]["Content-Description"] = image.alt
    return msg


class SendFailed(Exception):
    pass


@dataclass
class Sender:
    """Sends messages through the configured SMTP server, one connection per message (a failed
    message cannot poison the next one), each tried `attempts` times."""
    smtp: SmtpSettings
    attempts: int = 3
    backoff: float = 1.0  # seconds before the 2nd attempt, doubled after each failure
    timeout: float = 30.0

    def send(self, msg: EmailMessage) -> int:
        """Send; returns the attempts it took, or raises SendFailed naming the last error."""
        credentials = self.smtp.credentials()
        last = None
        for attempt in range(1, self.attempts + 1):
            try:
                self._send_once(msg, credentials)
                return attempt
            except (smtplib.SMTPException, OSError) as err:
                last = err
                if attempt < self.attempts:
                    time.sleep(self.backoff * 2 ** (attempt - 1))
        raise SendFailed(f"{type(last).__name__}: {last} (after {self.attempts} attempts)")

    def _send_once(self, msg: EmailMessage, credentials) -> None:
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.timeout) as smtp:
            if self.smtp.starttls:
                context = ssl.create_default_context(cafile=self.smtp.ca_file)
                smtp.starttls(context=context)
            if credentials:
                smtp.login(*credentials)
            smtp.send_message(msg)
