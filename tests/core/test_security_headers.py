"""Browser policy: CSP with per-response nonces, no inline script or style, Permissions-Policy,
`Cache-Control: no-store` on personal data, and HTTPS-only production defaults."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.test import Client

from caseledger.supervision import charts, services
from caseledger.supervision.models import Enrolment
from tests.conftest import context
from tests.supervision.conftest import ENROL_PHOTO, enrolment_input

# --- helpers ---------------------------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag of a document, with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.in_script = False
        self.script_bodies: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.in_script = tag == "script"
        if self.in_script:
            self.script_bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script:
            self.script_bodies[-1] += data


def parse(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser


def csp(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def nonce_of(response: Any) -> str:
    nonces = [v for v in csp(response)["script-src"] if v.startswith("'nonce-")]
    assert len(nonces) == 1, response["Content-Security-Policy"]
    return nonces[0][len("'nonce-") : -1]


def assert_scripts_carry_the_nonce(response: Any) -> int:
    """Every <script> is a file (src) with the response's nonce and no body; returns how many."""
    html = response.content.decode()
    found = parse(html)
    scripts = [attrs for tag, attrs in found.tags if tag == "script"]
    if scripts:
        nonce = nonce_of(response)
        assert len(nonce) >= 16
        for attrs in scripts:
            assert attrs.get("src"), attrs
            assert attrs.get("nonce") == nonce, (attrs, nonce)
    assert not any(body.strip() for body in found.script_bodies), found.script_bodies
    return len(scripts)


def assert_no_inline_style(response: Any) -> None:
    found = parse(response.content.decode())
    for tag, attrs in found.tags:
        assert tag != "style", "a <style> element"
        assert "style" not in attrs, (tag, attrs)


@pytest.fixture
def stub(settings: Any) -> Any:
    from caseledger.biometrics.verifier import StubVerifier

    verifier = StubVerifier()
    verifier.add(ENROL_PHOTO, person="ana")
    settings.FACE_VERIFIER = verifier
    return verifier


@pytest.fixture
def enrolment(stub: Any, users: Any, make_person: Any) -> Enrolment:
    person = make_person("officer_east", "Ana", "Ramirez", languages=["es"])
    result = services.enrol(
        ctx=context(users["officer_east"]), person_id=person.pk, data=enrolment_input()
    )
    return result.enrolment


@pytest.fixture
def officer(users: Any, web_client: Any) -> Client:
    return web_client(users["officer_east"])


@pytest.fixture
def participant(enrolment: Enrolment, web_client: Any) -> Client:
    return web_client(enrolment.person.participant_account)


# --- Content-Security-Policy -------------------------------------------------------------------


EXPECTED_CSP = {
    "default-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "object-src": ["'none'"],
}


def test_csp_is_strict_and_every_script_carries_the_nonce(
    officer: Client, participant: Client, enrolment: Enrolment, make_person: Any
) -> None:
    person = make_person("officer_east", "Rosa", "Lopez")
    pages = [
        (Client(), "/accounts/login/"),
        (officer, "/persons/"),
        (officer, f"/persons/{person.pk}/"),
        (officer, "/persons/search/?q=Lopez"),
        (officer, "/supervision/"),
        (officer, f"/supervision/enrol/{person.pk}/"),
        (participant, "/me/"),
        (participant, "/me/check-in/"),
        (participant, "/me/record/"),
    ]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = csp(response)
        for directive, values in EXPECTED_CSP.items():
            assert policy[directive] == values, (url, directive, policy[directive])
        script_src = policy["script-src"]
        assert script_src[0] == "'self'" and len(script_src) == 2, script_src
        assert "'unsafe-inline'" not in response["Content-Security-Policy"], url
        assert "'unsafe-eval'" not in response["Content-Security-Policy"], url
        assert assert_scripts_carry_the_nonce(response) >= 3, url  # USWDS x2, htmx
        assert_no_inline_style(response)


def test_the_check_in_and_enrolment_scripts_carry_the_nonce(
    officer: Client, participant: Client, make_person: Any
) -> None:
    person = make_person("officer_east", "Rosa", "Lopez")
    for client, url in (
        (participant, "/me/check-in/"),
        (officer, f"/supervision/enrol/{person.pk}/"),
    ):
        response = client.get(url)
        srcs = [a["src"] for t, a in parse(response.content.decode()).tags if t == "script"]
        assert any(s.endswith("caseledger/checkin.js") for s in srcs), (url, srcs)
        assert_scripts_carry_the_nonce(response)


def test_each_response_gets_its_own_nonce(officer: Client) -> None:
    nonces = {nonce_of(officer.get("/persons/")) for _ in range(3)}
    assert len(nonces) == 3


def test_error_and_api_answers_carry_the_policy_too(
    officer: Client, api_client: Any, users: Any
) -> None:
    missing = officer.get("/persons/does-not-exist/")
    assert missing.status_code == 404
    assert csp(missing)["default-src"] == ["'self'"]
    answer = api_client(users["officer_east"]).get("/api/v1/persons")
    assert answer.status_code == 200
    assert csp(answer)["frame-ancestors"] == ["'none'"]


def test_htmx_injects_no_style_runs_no_eval_and_keeps_no_page_copies(officer: Client) -> None:
    """htmx would otherwise add a <style> element (refused by the CSP) and keep copies of
    visited pages, personal data included, in sessionStorage."""
    found = parse(officer.get("/persons/search/").content.decode())
    metas = [a for t, a in found.tags if t == "meta" and a.get("name") == "htmx-config"]
    assert len(metas) == 1
    config = json.loads(metas[0]["content"] or "")
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False
    assert config["historyCacheSize"] == 0 and config["refreshOnHistoryMiss"] is True


def test_the_supervision_chart_has_no_style_attributes() -> None:
    svg = charts.outcomes_svg(
        {
            "weeks": ["2026-11-02", "2026-11-09"],
            "verified": [3, 4],
            "review": [1, 0],
            "missed": [0, 2],
        }
    )
    assert "style=" not in svg and "<style" not in svg
    assert 'fill="#00a91c"' in svg  # the colours survive as presentation attributes
    assert 'fill="url(#' in svg  # and the hatch patterns
    for _tag, attrs in parse(svg).tags:
        assert len(attrs) == len(set(attrs)), attrs


# --- templates: no inline script, no handlers, no inline style ----------------------------------


def template_files() -> list[Path]:
    roots = [Path(d) for t in django_settings.TEMPLATES for d in t["DIRS"]]
    roots += [
        Path(app.path) / "templates"
        for app in apps.get_app_configs()
        if app.name.startswith("caseledger.")
    ]
    files = sorted({f for root in roots if root.is_dir() for f in root.rglob("*.html")})
    assert len(files) > 50, roots
    return files


def template_markup(source: str) -> str:
    """The template's HTML with Django syntax neutralised: tags and comments removed,
    variables replaced by a plain word."""
    source = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", source, flags=re.DOTALL)
    source = re.sub(r"{#.*?#}", "", source, flags=re.DOTALL)
    source = re.sub(r"{%.*?%}", " ", source, flags=re.DOTALL)
    return re.sub(r"{{.*?}}", "X", source, flags=re.DOTALL)


def inline_code(source: str) -> list[str]:
    """What a strict CSP would refuse in a template: <script> without src or without the
    nonce, script bodies, on*= handlers and javascript: URLs."""
    found = parse(template_markup(source))
    problems = []
    for tag, attrs in found.tags:
        if tag == "script":
            if not attrs.get("src"):
                problems.append(f"<script> without src: {attrs}")
            if "nonce" not in attrs:
                problems.append(f"<script> without nonce: {attrs}")
        problems += [f"<{tag} {name}=...>" for name in attrs if name.startswith("on")]
        problems += [
            f"<{tag} {name}=javascript:...>"
            for name, value in attrs.items()
            if value and value.strip().lower().startswith("javascript:")
        ]
    problems += [f"script body: {b.strip()[:60]}" for b in found.script_bodies if b.strip()]
    return problems


def test_the_inline_code_detector_finds_what_it_should() -> None:
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<script src="/static/x.js"></script>')  # no nonce
    assert inline_code('<button onclick="go()">Go</button>')
    assert inline_code('<body onload="{{ x }}">')
    assert inline_code('<a href="javascript:void(0)">x</a>')
    assert inline_code('<p{% if a %} onmouseover="x"{% endif %}>')
    ok = '<script nonce="{{ csp_nonce }}" src="{% static \'x.js\' %}" defer></script>'
    assert inline_code(ok) == []
    assert inline_code('<p data-one="1">{% comment %}<script>x</script>{% endcomment %}</p>') == []


def test_no_template_has_inline_script_or_event_handlers() -> None:
    problems = {
        str(path): found
        for path in template_files()
        if (found := inline_code(path.read_text(encoding="utf-8")))
    }
    assert problems == {}


def test_no_page_template_has_inline_style() -> None:
    """Templates served as pages carry no style attribute or <style> element; the PDF-only
    templates (`*_pdf.html`, rendered by WeasyPrint, never served under the CSP) may."""
    problems = []
    for path in template_files():
        if path.name.endswith("_pdf.html"):
            continue
        for tag, attrs in parse(template_markup(path.read_text(encoding="utf-8"))).tags:
            if tag == "style" or "style" in attrs:
                problems.append(f"{path.name}: <{tag}>")
    assert problems == []


# --- Permissions-Policy ----------------------------------------------------------------------


def permissions(response: Any) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in response["Permissions-Policy"].split(","))


def test_camera_and_location_only_on_the_check_in_page(
    officer: Client, participant: Client, make_person: Any
) -> None:
    check_in = permissions(participant.get("/me/check-in/"))
    assert check_in["camera"] == "(self)" and check_in["geolocation"] == "(self)"
    assert check_in["microphone"] == "()" and check_in["payment"] == "()"

    person = make_person("officer_east", "Rosa", "Lopez")
    enrol = permissions(officer.get(f"/supervision/enrol/{person.pk}/"))
    assert enrol["camera"] == "(self)"  # the officer photographs the reference photo
    assert enrol["geolocation"] == "()" and enrol["microphone"] == "()"

    for client, url in (
        (participant, "/me/"),
        (participant, "/me/record/"),
        (officer, "/persons/"),
        (officer, f"/persons/{person.pk}/"),
        (Client(), "/accounts/login/"),
        (Client(), "/no-such-page/"),
    ):
        policy = permissions(client.get(url))
        assert set(policy.values()) == {"()"}, (url, policy)
        for feature in ("camera", "geolocation", "microphone", "usb", "display-capture"):
            assert policy[feature] == "()", (url, feature)


def test_a_post_to_the_check_in_page_keeps_its_permissions(participant: Client) -> None:
    response = participant.post("/me/check-in/", {})
    assert permissions(response)["camera"] == "(self)"
    assert response["Cache-Control"] == "no-store"


# --- Cache-Control ---------------------------------------------------------------------------


def test_personal_pages_and_api_answers_are_not_stored(
    officer: Client, participant: Client, api_client: Any, users: Any, make_person: Any
) -> None:
    person = make_person("officer_east", "Rosa", "Lopez")
    api = api_client(users["officer_east"])
    answers = {
        "person page": officer.get(f"/persons/{person.pk}/"),
        "caseload": officer.get("/persons/"),
        "search": officer.get("/persons/search/?q=Lopez"),
        "api person": api.get(f"/api/v1/persons/{person.pk}"),
        "api list": api.get("/api/v1/persons"),
        "my check-ins": participant.get("/me/"),
        "check-in": participant.get("/me/check-in/"),
        "my record": participant.get("/me/record/"),
        "login": Client().get("/accounts/login/"),
        "redirect to login": Client().get(f"/persons/{person.pk}/"),
        "not found": officer.get("/persons/nobody/"),
    }
    for name, response in answers.items():
        assert response.status_code in (200, 302, 404), name
        assert response["Cache-Control"] == "no-store", name
        assert response["Pragma"] == "no-cache", name


def test_a_views_own_no_store_is_kept(participant: Client) -> None:
    response = participant.get("/me/record/export.json")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_the_api_description_and_static_files_may_be_cached(db: Any) -> None:
    schema = Client().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert "no-store" not in schema.get("Cache-Control", "")
    static = Client().get("/static/caseledger/checkin.js")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")
    assert "Permissions-Policy" not in static  # WhiteNoise answered before the middleware


# --- production settings -----------------------------------------------------------------------


SETTINGS_PRINTED = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SILENCED_SYSTEM_CHECKS",
    "MIDDLEWARE",
)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh deployment: no CASELEDGER_* variable, no test settings;
    a strong secret key, a SQLite database in `tmp_path` and one host name."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CASELEDGER_")
        and k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        CASELEDGER_SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        CASELEDGER_ALLOWED_HOSTS="caseledger.example.org",
        CASELEDGER_VAR=str(tmp_path / "var"),
    )
    env.update(extra)
    return env


def settings_in(env: dict[str, str]) -> dict[str, Any]:
    code = (
        "import json, caseledger.settings as s; "
        f"print(json.dumps({{k: getattr(s, k) for k in {SETTINGS_PRINTED!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_production_defaults_are_https_only(tmp_path: Path) -> None:
    values = settings_in(clean_env(tmp_path))
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    middleware = values["MIDDLEWARE"]
    assert "django.middleware.csp.ContentSecurityPolicyMiddleware" in middleware
    assert "caseledger.core.security.BrowserPolicyMiddleware" in middleware
    assert middleware.index("caseledger.core.security.BrowserPolicyMiddleware") > middleware.index(
        "whitenoise.middleware.WhiteNoiseMiddleware"
    )


def test_proxy_header_switch(tmp_path: Path) -> None:
    values = settings_in(clean_env(tmp_path, CASELEDGER_PROXY_SSL_HEADER="X-Forwarded-Proto"))
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize("bad", ["X-Forwarded-Proto: https", "HTTP_X FORWARDED", "-x"])
def test_a_malformed_proxy_header_is_refused(tmp_path: Path, bad: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "caseledger.cli", "check"],
        env=clean_env(tmp_path, CASELEDGER_PROXY_SSL_HEADER=bad),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "CASELEDGER_PROXY_SSL_HEADER" in done.stderr


def test_a_plain_http_lab_switches_each_default_off(tmp_path: Path) -> None:
    values = settings_in(
        clean_env(
            tmp_path,
            CASELEDGER_SECURE_COOKIES="0",
            CASELEDGER_HSTS_SECONDS="0",
            CASELEDGER_SSL_REDIRECT="0",
        )
    )
    assert values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_SSL_REDIRECT"] is False


def test_preload_is_the_operators_choice(tmp_path: Path) -> None:
    off = settings_in(clean_env(tmp_path))
    assert "security.W021" in off["SILENCED_SYSTEM_CHECKS"]
    on = settings_in(clean_env(tmp_path, CASELEDGER_HSTS_PRELOAD="1"))
    assert on["SECURE_HSTS_PRELOAD"] is True
    assert "security.W021" not in on["SILENCED_SYSTEM_CHECKS"]


def test_demo_and_tests_serve_plain_http(tmp_path: Path) -> None:
    for switch in ("CASELEDGER_DEMO", "CASELEDGER_TESTING"):
        values = settings_in(clean_env(tmp_path, **{switch: "1"}))
        assert values["SESSION_COOKIE_SECURE"] is False, switch
        assert values["SECURE_HSTS_SECONDS"] == 0, switch
        assert values["SECURE_SSL_REDIRECT"] is False, switch
    # ...unless the demo is put behind TLS and asks for secure cookies.
    values = settings_in(clean_env(tmp_path, CASELEDGER_DEMO="1", CASELEDGER_SECURE_COOKIES="1"))
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True


def test_https_redirect_hsts_and_the_proxy_header_in_action(settings: Any, db: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = Client().get("/accounts/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/"
    proxied = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert Client().get("/healthz").status_code == 200  # a load balancer's plain-HTTP probe


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "caseledger.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_passes_with_only_the_three_required_variables(tmp_path: Path) -> None:
    done = deploy_check(clean_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_deploy_check_warns_for_the_plain_http_demo(tmp_path: Path) -> None:
    env = clean_env(tmp_path, CASELEDGER_DEMO="1")
    done = deploy_check(env)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in output, warning
