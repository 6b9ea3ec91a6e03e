"""A real SMTP server for the report tests (aiosmtpd on 127.0.0.1, a free port, STARTTLS with a
certificate made here, AUTH), and parsing what it received with the email package."""
from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from servers import free_port

USER, PASSWORD = "reports-bot", "s3cret-not-in-config"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA), written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Handler:
    """Keeps every message; `fail` maps a recipient to how many times to refuse it (451) first
    (a large number: always)."""
    received: list = field(default_factory=list)
    attempts: dict = field(default_factory=dict)
    fail: dict = field(default_factory=dict)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            self.attempts[rcpt] = self.attempts.get(rcpt, 0) + 1
            if self.fail.get(rcpt, 0) > 0:
                self.fail[rcpt] -= 1
                return "451 4.3.0 try again later"
        self.received.append(envelope)
        return "250 OK"


class SmtpServer:
    def __init__(self, folder: Path, tls: bool = True):
        self.handler = Handler()
        self.port = free_port()
        self.cert, key = make_certificate(folder)
        ctx = None
        if tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.cert, key)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     tls_context=ctx, require_starttls=tls, auth_required=tls,
                                     authenticator=self._auth if tls else None)

    def _auth(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        if ok:
            self.handler.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def messages(self) -> list:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.handler.received]


def parts(msg) -> tuple[str, str, dict[str, object]]:
    """(text, html, {content-id: image part}) of a report e-mail, asserting its structure:
    multipart/alternative [text/plain, multipart/related [text/html, image/png...]]."""
    assert msg.get_content_type() == "multipart/alternative"
    plain, related = msg.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    by_cid = {}
    for img in images:
        assert img.get_content_type() == "image/png"
        assert img.get_content().startswith(b"\x89PNG\r\n\x1a\n")
        assert img.get_content_disposition() == "inline"
        by_cid[img["Content-ID"].strip("<>")] = img
    return plain.get_content(), html_part.get_content(), by_cid


def cids(html: str) -> list[str]:
    return re.findall(r'src="cid:([^"]+)"', html)
