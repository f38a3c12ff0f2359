"""Fixtures for the notices tests: a person with contacts and a case, hearings in the court's
time, a real SMTP server (aiosmtpd) and a fake SMS gateway (http.server), both on 127.0.0.1
on a free port, with scripted answers."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone
from tests.conftest import context

from caseledger.cases.services import open_case, schedule_hearing
from caseledger.people.services import ContactInput

LA = ZoneInfo("America/Los_Angeles")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_time(days: int, hour: int = 9, minute: int = 0, tz: ZoneInfo = LA) -> datetime:
    """`days` from today at hour:minute, court time (Los Angeles), as an aware datetime."""
    day = timezone.now().astimezone(tz).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


@pytest.fixture
def officer(users):
    return users["officer_east"]


@pytest.fixture
def officer_ctx(officer):
    return context(officer)


@pytest.fixture
def ana(make_person, users):
    """Ana Ramirez, Spanish first, email preferred and a phone; officer_east's caseload;
    her participant login is users["participant"]."""
    person = make_person(
        "officer_east", "Ana", "Ramirez", languages=["es", "en"],
        contacts=[ContactInput("email", "ana.ramirez@example.org", preferred=True),
                  ContactInput("phone", "+1 213 555 0147")],
    )
    person.participant_account = users["participant"]
    person.save(update_fields=["participant_account"])
    return person


@pytest.fixture
def case(officer_ctx, ana):
    return open_case(ctx=officer_ctx, person_id=ana.pk, case_type="removal", court_code="LOS")


@pytest.fixture
def make_hearing(officer_ctx, case):
    def make(days: int = 30, hour: int = 9, **kwargs: Any):
        return schedule_hearing(ctx=officer_ctx, case_id=case.pk, calendar="master",
                                scheduled_at=local_time(days, hour), **kwargs)

    return make


def smtp_mailer(port: int, timeout: float = 2) -> dict[str, Any]:
    """MAILERS with the default mailer sending over SMTP to 127.0.0.1:`port`."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        }
    }


@pytest.fixture
def notice_settings(settings, tmp_path):
    settings.NOTICE_CHANNELS = ["email", "sms"]
    settings.NOTICE_OUTBOX_DIR = str(tmp_path / "outbox")
    settings.REMINDER_DAYS_BEFORE = [7, 3, 1]
    settings.SITE_URL = "http://testserver"
    settings.SMS_GATEWAY_URL = ""
    return settings


# --- a real SMTP server --------------------------------------------------------------------
class SmtpHandler:
    """Accepts mail; `script` holds what to do with the next DATA commands ("451 ...",
    "550 ...", or a number of seconds to stall on MAIL before answering)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.script: list[str | float] = []
        self.stall: list[float] = []
        self.sessions = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        self.sessions += 1
        if self.stall:
            await asyncio.sleep(self.stall.pop(0))
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if "bounce" in address:
            return "550 5.1.1 <" + address + ">: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        answer = self.script.pop(0) if self.script else "250 Message accepted"
        if str(answer).startswith("250"):
            message = BytesParser(policy=policy.default).parsebytes(envelope.content)
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return answer

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        end = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < end:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def smtp(notice_settings) -> Iterator[SmtpHandler]:
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="localhost",
                            ready_timeout=5.0)
    controller.start()
    notice_settings.MAILERS = smtp_mailer(port, timeout=1)
    notice_settings.NOTICE_CHANNELS = ["email"]
    try:
        yield handler
    finally:
        controller.stop()


# --- a fake SMS gateway ---------------------------------------------------------------------------
class Gateway:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, Any]] | float] = []
        self.counter = 0


def _gateway_handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            gateway.requests.append({"headers": dict(self.headers), "json": body,
                                     "path": self.path})
            answer = gateway.script.pop(0) if gateway.script else (200, {})
            if isinstance(answer, float):
                time.sleep(answer)
                answer = (200, {})
            status, payload = answer
            if status == 200 and not payload:
                gateway.counter += 1
                payload = {"id": f"sms-{gateway.counter}", "status": "queued"}
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def gateway(notice_settings) -> Iterator[Gateway]:
    state = Gateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _gateway_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    notice_settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_address[1]}/messages"
    notice_settings.SMS_GATEWAY_TOKEN = "gateway-test-token"
    notice_settings.SMS_GATEWAY_TIMEOUT = 1
    notice_settings.NOTICE_CHANNELS = ["sms"]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
