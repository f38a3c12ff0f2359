#!/usr/bin/env python3
"""Fuzz the JSON API with Schemathesis against a live server: `make fuzz` (CI runs it after
the test suite). Exit status 0 only if every pass is clean.

1. A fresh SQLite database in a temporary directory, seeded by `caseledger demo --no-serve`
   (demo settings: well-known passwords, no TOTP step for staff).
2. A server on a free local port: by default granian serving `caseledger.wsgi`, as
   `caseledger serve` runs it, after a plain `collectstatic` (the 404 page of a fuzzed path
   links its styles through the manifest) but without serve's background loops; `--serve`
   uses `caseledger serve` itself.
3. Bearer tokens from POST /api/v1/auth/token, and the ids of seeded records (persons, cases,
   hearings, reviews, disclosure requests, holds), which the generator is offered beside random
   values so that the tests reach past "not found".
4. An anonymous sweep: every operation that needs a token must answer a documented 401.
5. `st run` with every phase (examples, coverage, fuzzing, stateful) as a case officer (every
   operation), a privacy officer, a participant and an administrator (the parts of the API
   they use), and
   DELETE /auth/token on its own (it revokes the token it carries, so it would end the other
   passes' sessions). The `ignored_auth` check also sends each request without its token.

The checks are those in CHECKS: no 5xx, every status and content type and body documented,
documented headers, wrong input refused, valid input accepted (except where OpenAPI cannot say
the rule, see SCHEMA_CANNOT_SAY), auth not ignored, deleted things gone. The seed is fixed, so
a failure reproduces; the server is stopped in every case, the temporary directory removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

API = "/api/v1"
PASSWORD = "caseledger-demo"  # the demo's (caseledger.demo.DEMO_PASSWORD)
# Who fuzzes which part of the API (OpenAPI tags; none: all of it). The officer meets every
# operation, so the others only the parts where their role does something.
USERS: dict[str, tuple[str, ...]] = {
    "officer.east": (),
    "privacy": ("disclosures", "retention", "reports", "ledger"),
    "participant.demo": ("supervision", "portal", "my record", "persons"),
    "admin": ("accounts",),
}
REVOKE = "caseledger_accounts_api_revoke_token"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
)
# Off: it needs a second identity within one run.
CHECKS_OFF = ("object_level_authorization",)
# Operations whose rules OpenAPI cannot state (a rule across fields, or about stored data), so
# that valid-looking input is refused with a documented 4xx: positive_data_acceptance is off.
SCHEMA_CANNOT_SAY = {
    "caseledger_ledger_api_consistency_proof": "`from` must not exceed `to`, nor `to` the tree",
    "caseledger_ledger_api_inclusion_proof": "`size` must reach past the event's position",
    "caseledger_people_api_create_person": "codes must exist (pycountry), phone numbers and "
    "e-mail addresses be real, a name have a given or family name, a birth date be plausible",
    "caseledger_people_api_patch_person": "codes must exist, a birth date be plausible",
    "caseledger_people_api_add_address": "a new address must start after the current one, "
    "and not before 1900",
    "caseledger_cases_api_schedule_hearing": "the time must parse, be in the future and within "
    "5 years; the court must exist",
    "caseledger_cases_api_move_hearing": "the time must parse, be in the future and within 5 "
    "years",
    "caseledger_disclosures_api_create_disclosure": "agency, authority and category codes must "
    "exist, the letter be a PDF",
    "caseledger_reports_api_anomaly_reports": "ISO week 53 exists in some years only",
    "caseledger_reports_api_build_anomaly_report": "only a week that has ended is built",
    "caseledger_supervision_api_check_in": "the photo must be an image, the location parse",
    "caseledger_supervision_api_enrol": "the photo must show one face; the level must exist",
    "caseledger_supervision_api_disposition": "`suspected_impersonation` needs a 20-character "
    "note",
    "caseledger_accounts_api_list_accounts": "the office filter must name an existing office",
    "caseledger_accounts_api_create_account": "case officers and supervisors need an existing "
    "office, the others none; the username must be free",
    "caseledger_accounts_api_change_role": "the office must exist and suit the role; the last "
    "administrator keeps the role",
}
SERVER_START_SECONDS = 240
STOP_SECONDS = 15
RUN_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Options:
    max_examples: int
    seed: int
    persons: int
    serve: bool
    keep: bool
    workers: int


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=20, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--persons", type=int, default=20, help="demo persons to seed")
    parser.add_argument("--serve", action="store_true", help="start `caseledger serve`")
    parser.add_argument("--workers", type=int, default=2, help="schemathesis workers")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = parser.parse_args(argv)
    return Options(a.max_examples, a.seed, a.persons, a.serve, a.keep, a.workers)


def log(message: str) -> None:
    print(f"[api-fuzz] {message}", flush=True)


# --- the server ---------------------------------------------------------------------------


def server_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CASELEDGER_TESTING"}
    env.update(
        CASELEDGER_DEMO="1",
        CASELEDGER_VAR=str(tmp / "var"),
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_argv(port: int, serve: bool) -> list[str]:
    if serve:
        return [sys.executable, "-m", "caseledger.cli", "serve", "--port", str(port),
                "--workers", "2", "--threads", "4"]  # fmt: skip
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "2", "--blocking-threads", "4", "--no-ws",
        "caseledger.wsgi:application",
    ]  # fmt: skip


@contextlib.contextmanager
def running_server(env: dict[str, str], tmp: Path, serve: bool) -> Iterator[str]:
    """Start the server in its own process group; yield its base URL once the schema is
    served; stop it (SIGTERM, then SIGKILL to the group) however the block ends."""
    port = free_port()
    out = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        server_argv(port, serve), env=env, cwd=tmp, stdin=subprocess.DEVNULL,
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(proc, base, tmp / "server.log")
        yield base
    finally:
        stop(proc)
        out.close()


def wait_until_up(proc: subprocess.Popen[bytes], base: str, logfile: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.stdout.write(logfile.read_text(errors="replace")[-4000:])
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base}{API}/openapi.json", timeout=5) as r,  # noqa: S310
        ):
            if r.status == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the server did not answer within {SERVER_START_SECONDS} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        log("the server did not stop in time; killing it")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # workers left behind, if any
    proc.wait()


# --- talking to the API -------------------------------------------------------------------


def call(base: str, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    # `base` is the local server's http:// address, made here (S310: no file: URLs).
    request = urllib.request.Request(f"{base}{API}{path}", data=data, method=method)  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


def token_for(base: str, username: str) -> str:
    status, body = call(base, "POST", "/auth/token", {"username": username, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"no token for {username}: {status} {body}")
    return str(body["token"])


def listed(base: str, path: str, token: str, key: str = "") -> list[Any]:
    """The rows of a list answer (under `key` if it is a page), or none if it was refused."""
    status, body = call(base, "GET", path, token=token)
    if status != 200:
        log(f"GET {path}: {status}; no ids from it")
        return []
    return list(body[key] if key else body)


def seeded_ids(base: str, tokens: dict[str, str]) -> dict[str, list[str]]:
    """Ids of seeded records, read through the API as the users who may see them."""
    officer, privacy = tokens["officer.east"], tokens["privacy"]
    persons = [p["id"] for p in listed(base, "/persons", officer, "items")]
    cases = [c["id"] for p in persons[:6] for c in listed(base, f"/persons/{p}", officer, "cases")]
    hearings = []
    for case in cases:
        for proceeding in listed(base, f"/cases/{case}", officer, "proceedings"):
            hearings += [h["id"] for h in proceeding["hearings"]]
    reports = listed(base, "/reports/anomalies", privacy)
    subject = persons[0] if persons else "none"
    events = listed(base, f"/ledger/events?subject={subject}", privacy, "items")
    ids = {
        "person": persons,
        "case": cases,
        "hearing": hearings,
        "review": [r["id"] for r in listed(base, "/reviews?include_decided=true", officer)],
        "request": [r["id"] for r in listed(base, "/disclosures", privacy, "items")],
        "hold": [h["id"] for h in listed(base, "/retention/holds", privacy)],
        "item": [i["id"] for r in reports for i in r["items"]],
        "event": [e["id"] for e in events[:10]],
    }
    return {k: v for k, v in ids.items() if v}


# --- schemathesis -------------------------------------------------------------------------

BINDINGS = {
    "path.person_id": "person",
    "query.person": "person",
    "query.subject": "person",
    "body.person": "person",
    "path.case_id": "case",
    "path.hearing_id": "hearing",
    "path.review_id": "review",
    "path.request_id": "request",
    "path.hold_id": "hold",
    "path.item_id": "item",
    "query.event": "event",
}


def write_config(path: Path, ids: dict[str, list[str]]) -> None:
    """schemathesis.toml: the checks, the seeded ids as dictionaries (drawn half of the time),
    and the operations where positive_data_acceptance cannot apply. (Checks named on the
    command line would override the per-operation settings.)"""
    lines = ["[generation]", "database = \"none\"", "", "[checks]"]
    lines += [f"{name}.enabled = true" for name in CHECKS]
    lines += [f"{name}.enabled = false" for name in CHECKS_OFF]
    lines.append("")
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for key, name in BINDINGS.items():
        if name in ids:
            lines.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
    for operation_id, why in SCHEMA_CANNOT_SAY.items():
        lines += ["", f"# {why}", "[[operations]]", f'include-operation-id = "{operation_id}"',
                  "checks.positive_data_acceptance.enabled = false"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


PHASES = "examples,coverage,fuzzing,stateful"


def st_run(
    base: str, config: Path, options: Options, *, name: str, token: str = "",
    extra: tuple[str, ...] = (), phases: str = PHASES,
) -> bool:  # fmt: skip
    argv = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", f"{base}{API}/openapi.json",
        "--phases", phases,
        "--max-examples", str(options.max_examples), "--seed", str(options.seed),
        "--workers", str(options.workers), "--request-timeout", "30", *extra,
    ]  # fmt: skip
    if token:
        argv += ["--header", f"Authorization: Bearer {token}"]
    log(f"st run as {name}")
    started = time.monotonic()
    status = subprocess.call(argv, cwd=config.parent, timeout=RUN_TIMEOUT_SECONDS)
    log(f"st run as {name}: {'clean' if status == 0 else 'FAILED'} "
        f"in {time.monotonic() - started:.0f} s")  # fmt: skip
    return status == 0


def anonymous_sweep(base: str) -> bool:
    """Every operation that declares bearer auth answers 401, documented, to a request
    without a token (path parameters filled with a dummy id, no body)."""
    spec = call(base, "GET", "/openapi.json")[1]
    ok = True
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if not op.get("security"):
                continue
            url = path.removeprefix(API).replace("{", "").replace("}", "")
            status, body = call(base, method.upper(), url)
            documented = "401" in op["responses"]
            shaped = isinstance(body, dict) and body.get("code") == "unauthenticated"
            if status != 401 or not documented or not shaped:
                log(f"anonymous {method.upper()} {path}: {status} {body!r:.200}")
                ok = False
    log(f"anonymous sweep: {'clean' if ok else 'FAILED'}")
    return ok


def fuzz(base: str, tmp: Path, options: Options) -> bool:
    tokens = {user: token_for(base, user) for user in USERS}
    config = tmp / "schemathesis.toml"
    write_config(config, seeded_ids(base, tokens))
    results = [anonymous_sweep(base)]
    for user, tags in USERS.items():
        scope = ["--exclude-operation-id", REVOKE]
        for tag in tags:
            scope += ["--include-tag", tag]
        results.append(st_run(base, config, options, name=user, token=tokens[user],
                              extra=tuple(scope)))  # fmt: skip
    results.append(st_run(base, config, options, name="officer.east (DELETE /auth/token)",
                          token=token_for(base, "officer.east"),
                          extra=("--include-operation-id", REVOKE),
                          phases=PHASES.removesuffix(",stateful")))  # a link-less lone operation
    return all(results)


def server_tracebacks(logfile: Path) -> bool:
    """No exception may reach Django's own handlers: it turns some into a 400 page that no
    check sees as an error (a JSON body sent as multipart once did, and skipped the lockout)."""
    text = logfile.read_text(errors="replace") if logfile.exists() else ""
    first = text.find("Traceback (most recent call last)")
    if first < 0:
        log("server log: no tracebacks")
        return True
    log(f"server log: {text.count('Traceback (most recent call last)')} traceback(s); the first:")
    line_before = text.rfind("\n", 0, max(0, first - 1)) + 1  # Django's line naming the path
    sys.stdout.write(text[line_before:][:6000] + "\n")
    return False


def seed(env: dict[str, str], tmp: Path, persons: int) -> None:
    argv = [sys.executable, "-m", "caseledger.cli", "demo", "--no-serve", "--persons", str(persons)]
    run(argv, env, tmp, "seeding")


def collect_static(env: dict[str, str], tmp: Path) -> None:
    """The static files and their manifest, as `caseledger serve` writes them before it
    starts: the pages outside the API (a fuzzed path's 404) link their styles through it."""
    run([sys.executable, "-m", "caseledger.cli", "collectstatic", "--noinput", "--verbosity", "0"],
        env, tmp, "collectstatic")


def run(argv: list[str], env: dict[str, str], tmp: Path, what: str) -> None:
    done = subprocess.run(argv, env=env, cwd=tmp, capture_output=True, text=True)
    if done.returncode:
        sys.stdout.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise RuntimeError(f"{what} failed with status {done.returncode}")


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the server
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="caseledger-fuzz-"))
    ok = False
    try:
        env = server_env(tmp)
        log(f"seeding {options.persons} demo persons")
        seed(env, tmp, options.persons)
        if not options.serve:  # serve collects them itself
            collect_static(env, tmp)
        log(f"seeded in {time.monotonic() - started:.0f} s; starting the server")
        with running_server(env, tmp, options.serve) as base:
            log(f"server up at {base} after {time.monotonic() - started:.0f} s")
            ok = fuzz(base, tmp, options)
        ok = server_tracebacks(tmp / "server.log") and ok
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log(f"error: {exc}")
        ok = False
    finally:
        if options.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"{'clean' if ok else 'FAILED'} after {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
