"""Channels: one interface, `Channel.send(message) -> DeliveryResult`.

- `EmailChannel`: Django's EmailMessage over the configured backend (SMTP in production).
- `SmsGatewayChannel`: an HTTP POST of JSON to `SMS_GATEWAY_URL` with a bearer token.
- `FileChannel`: writes each message to `NOTICE_OUTBOX_DIR` (.eml or .txt); the demo uses it.

A result is `sent`, `transient` (worth retrying later: timeouts, refused connections,
SMTP 4xx, gateway 5xx/408/429) or `permanent` (SMTP 5xx, gateway 4xx, an address that is
not valid). Its `detail` is a short code such as "smtp 451": never server text, which can
quote the address.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage

from caseledger.core import clock
from caseledger.core.errors import ValidationError
from caseledger.people import validation

SENT = "sent"
TRANSIENT = "transient"
PERMANENT = "permanent"


@dataclass(frozen=True)
class Message:
    """One rendered message to one address."""

    to: str
    medium: str  # email | sms
    body: str
    subject: str = ""
    reference: str = ""  # the reminder id, for the provider's records
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # sent | transient | permanent
    provider_id: str = ""
    error: str = ""  # a code: smtp_temporary, smtp_refused, timeout, gateway_4xx, ...
    detail: str = ""  # e.g. "smtp 550", "http 503"

    @property
    def ok(self) -> bool:
        return self.status == SENT


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> DeliveryResult: ...


def check_address(medium: str, value: str) -> str:
    """The normalised address, or a ValidationError a person can act on."""
    if medium == "email":
        return validation.normalize_email(value)
    if medium == "sms":
        return validation.normalize_phone(value)
    raise ValidationError(f"Unknown channel '{medium}'.", field="channel")


# --- email ----------------------------------------------------------------------------------
def _smtp_result(code: int, error: str) -> DeliveryResult:
    if 400 <= code < 500:
        return DeliveryResult(TRANSIENT, error="smtp_temporary", detail=f"smtp {code}")
    return DeliveryResult(PERMANENT, error=error, detail=f"smtp {code}")


class EmailChannel:
    """Sends through Django's default mailer (`MAILERS["default"]`: SMTP host, port and
    timeout from CASELEDGER_SMTP_HOST, _PORT, _TIMEOUT)."""

    name = "email"

    def build(self, message: Message) -> EmailMessage:
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "caseledger.invalid"
        headers = {"Message-ID": make_msgid(domain=domain), **message.headers}
        return EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers=headers,
        )

    def send(self, message: Message) -> DeliveryResult:
        email = self.build(message)
        try:
            sent = email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()] or [550]
            return _smtp_result(max(codes), "smtp_recipient_refused")
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, ...
            return _smtp_result(exc.smtp_code, "smtp_refused")
        except TimeoutError:
            return DeliveryResult(TRANSIENT, error="timeout", detail="smtp timeout")
        except smtplib.SMTPServerDisconnected as exc:
            if "timed out" in str(exc):  # smtplib reports a read timeout as a disconnection
                return DeliveryResult(TRANSIENT, error="timeout", detail="smtp timeout")
            return DeliveryResult(TRANSIENT, error="disconnected", detail="smtp disconnected")
        except (smtplib.SMTPException, OSError) as exc:
            return DeliveryResult(
                TRANSIENT, error="smtp_unavailable", detail=f"smtp {type(exc).__name__}"[:120]
            )
        except ValueError:  # an address the backend cannot put on the wire
            return DeliveryResult(PERMANENT, error="invalid_address", detail="address refused")
        if not sent:
            return DeliveryResult(TRANSIENT, error="not_sent", detail="backend sent nothing")
        return DeliveryResult(SENT, provider_id=email.extra_headers["Message-ID"])


# --- SMS over an HTTP gateway -----------------------------------------------------------------
class SmsGatewayChannel:
    """POST {"to", "body", "reference"} as JSON; 2xx with {"id"} is sent."""

    name = "sms"

    def __init__(
        self, url: str | None = None, token: str | None = None, timeout: float | None = None
    ) -> None:
        self.url = url if url is not None else settings.SMS_GATEWAY_URL
        self.token = token if token is not None else settings.SMS_GATEWAY_TOKEN
        self.timeout = (
            timeout
            if timeout is not None
            else float(getattr(settings, "SMS_GATEWAY_TIMEOUT", 10))
        )

    @property
    def available(self) -> bool:
        return self.url.startswith(("http://", "https://"))

    def send(self, message: Message) -> DeliveryResult:
        if not self.available:
            return DeliveryResult(TRANSIENT, error="sms_not_configured", detail="no gateway url")
        payload = json.dumps(
            {"to": message.to, "body": message.body, "reference": message.reference}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 (scheme checked in `available`)
            self.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": message.reference or uuid.uuid4().hex,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
                raw = response.read(65536)
        except urllib.error.HTTPError as exc:
            code = exc.code
            exc.close()
            if code >= 500 or code in (408, 425, 429):
                return DeliveryResult(TRANSIENT, error="gateway_unavailable", detail=f"http {code}")
            return DeliveryResult(PERMANENT, error="gateway_refused", detail=f"http {code}")
        except TimeoutError:
            return DeliveryResult(TRANSIENT, error="timeout", detail="gateway timeout")
        except urllib.error.URLError as exc:
            kind = "timeout" if isinstance(exc.reason, TimeoutError) else "gateway_unreachable"
            return DeliveryResult(TRANSIENT, error=kind, detail="gateway unreachable")
        except OSError as exc:
            return DeliveryResult(
                TRANSIENT, error="gateway_unreachable", detail=type(exc).__name__[:120]
            )
        if not 200 <= status < 300:
            return DeliveryResult(TRANSIENT, error="gateway_unexpected", detail=f"http {status}")
        try:
            provider_id = str(json.loads(raw or b"{}").get("id") or "")
        except (ValueError, AttributeError):
            provider_id = ""
        return DeliveryResult(SENT, provider_id=provider_id[:200], detail=f"http {status}")


# --- file (demo) ------------------------------------------------------------------------------
class FileChannel:
    """Writes messages to the outbox directory instead of sending them."""

    name = "file"

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.NOTICE_OUTBOX_DIR)

    def send(self, message: Message) -> DeliveryResult:
        stamp = clock.now().strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{message.reference or uuid.uuid4().hex}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if message.medium == "email":
                path = self.directory / f"{name}.eml"
                path.write_bytes(EmailChannel().build(message).message().as_bytes())
            else:
                path = self.directory / f"{name}.txt"
                path.write_text(f"To: {message.to}\nChannel: sms\n\n{message.body}\n", "utf-8")
        except OSError as exc:
            return DeliveryResult(TRANSIENT, error="outbox_unwritable", detail=type(exc).__name__)
        return DeliveryResult(SENT, provider_id=path.name)


def channel_for(name: str) -> Channel:
    if name == "email":
        return EmailChannel()
    if name == "sms":
        return SmsGatewayChannel()
    if name == "file":
        return FileChannel()
    raise ValueError(f"unknown notice channel '{name}'")


def enabled_channels() -> list[str]:
    return [c.strip() for c in settings.NOTICE_CHANNELS if c.strip()]
