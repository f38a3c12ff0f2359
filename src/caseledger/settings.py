"""Settings, all read from the environment.

`DATABASE_URL` picks the database (default: a SQLite file under `var/`). It is read here,
before Django sets anything up, so that the test runner and the CLI agree on the engine.
`CASELEDGER_DEMO=1` turns on the demo conveniences (well-known passwords, no MFA step); it
must never be set in a deployment. Outside the demo and the tests the site is HTTPS only
(Secure cookies, HSTS, redirect to https): see "transport security" below.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = Path(os.environ.get("CASELEDGER_HOME", Path.cwd()))
VAR_DIR = Path(os.environ.get("CASELEDGER_VAR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto` -> ("HTTP_X_FORWARDED_PROTO", "https"), Django's form of the header
    a TLS-terminating proxy sets; empty -> None (the request's own scheme counts)."""
    name = name.strip()
    if not name:
        return None
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", name):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"CASELEDGER_PROXY_SSL_HEADER must be a header name such as X-Forwarded-Proto, "
            f"not {name!r}."
        )
    return ("HTTP_" + name.upper().replace("-", "_"), "https")


DEMO = env_bool("CASELEDGER_DEMO")
DEBUG = env_bool("CASELEDGER_DEBUG", default=False)

SECRET_KEY = os.environ.get("CASELEDGER_SECRET_KEY", "")
if not SECRET_KEY:
    if DEMO or env_bool("CASELEDGER_TESTING") or env_bool("CASELEDGER_HELP_ONLY"):
        # Demo, tests, and `caseledger ... --help` (which serves nothing) only.
        SECRET_KEY = "caseledger-demo-only-not-secret-" + "x" * 32
    else:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "CASELEDGER_SECRET_KEY is not set. Set it in the environment "
            "(or CASELEDGER_DEMO=1 for the demo)."
        )

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("CASELEDGER_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CASELEDGER_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# A refused CSRF check gets the project's error page (in the visitor's language), not Django's.
CSRF_FAILURE_VIEW = "caseledger.urls.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ninja",
    "caseledger.core",
    "caseledger.accounts",
    "caseledger.ledger",
    "caseledger.access",
    "caseledger.people",
    "caseledger.cases",
    "caseledger.biometrics",
    "caseledger.supervision",
    "caseledger.notices",
    "caseledger.imports",
    "caseledger.disclosures",
    "caseledger.retention",
    "caseledger.reports",
    "caseledger.portal",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "caseledger.core.middleware.RequestIdMiddleware",
    # After WhiteNoise: static files are public and cacheable; everything else gets the CSP,
    # the Permissions-Policy and `Cache-Control: no-store` (caseledger/core/security.py).
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "caseledger.core.security.BrowserPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "caseledger.accounts.middleware.StaffMfaRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
    "caseledger.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "caseledger.urls"
WSGI_APPLICATION = "caseledger.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "caseledger.core.context_processors.site",
                "caseledger.access.context_processors.abilities",
            ],
        },
    }
]

# --- database ---------------------------------------------------------------------------
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'caseledger.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", DEFAULT_SQLITE)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A large office's figures past their reuse time are recounted in a thread while views are
# given the previous figure (core/reuse.py); the tests count them in the view, in order.
FIGURES_RECOUNT_IN_BACKGROUND = env_bool(
    "CASELEDGER_FIGURES_IN_BACKGROUND", default=not env_bool("CASELEDGER_TESTING"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Column and table comments document the schema on PostgreSQL; SQLite simply has none.
# Lockout is per account (the issue asks for it): an address shared by a whole office must
# not lock everyone out. Per-address rate limits belong in the reverse proxy.
SILENCED_SYSTEM_CHECKS = ["fields.W163", "models.W046", "axes.W006"]

# --- accounts, passwords, sessions, lockout ---------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "people:dashboard"

# Staff must pass a TOTP step; only the demo may switch it off.
CASELEDGER_REQUIRE_STAFF_MFA = not DEMO

# Lock an account after 5 failed logins; the lock and the count last 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "caseledger.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

# Idle timeout: a session ends after 15 idle minutes; every request renews it.
SESSION_COOKIE_AGE = int(os.environ.get("CASELEDGER_IDLE_TIMEOUT_SECONDS", 15 * 60))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Secure (HTTPS-only) cookies: see "transport security" below.

API_TOKEN_TTL = timedelta(hours=int(os.environ.get("CASELEDGER_API_TOKEN_HOURS", "8")))

# --- access gate --------------------------------------------------------------------------
BREAK_GLASS_MINUTES = int(os.environ.get("CASELEDGER_BREAK_GLASS_MINUTES", "60"))
BREAK_GLASS_MIN_REASON = 20

# --- ledger -------------------------------------------------------------------------------
# SQLite serialises writers, so events are chained as they are written. On PostgreSQL
# writers never wait on each other: one integrator chains committed events in the background.
LEDGER_INTEGRATE_INLINE = env_bool(
    "CASELEDGER_LEDGER_INLINE",
    default=DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3",
)
LEDGER_INTEGRATE_INTERVAL_SECONDS = float(os.environ.get("CASELEDGER_LEDGER_INTERVAL", "2"))
# Signed checkpoints: the origin line (also the signing key's name), where the key is read
# from (a file; or the environment variable CASELEDGER_LEDGER_SIGNING_KEY, which wins), how
# often a checkpoint is signed when events arrived, and the directory checkpoints are also
# written to (in production: write-once storage, the same for every node).
# The demo and the tests keep a signing key and a checkpoint store per database, under
# var/ledgers/<log id>/ (the log id is made when the database is migrated), so deleting the
# demo database, or a second database in the same checkout, starts a new log rather than
# looking like a fork of the old one. Set either variable to choose the place yourself.
LEDGER_ORIGIN = os.environ.get("CASELEDGER_LEDGER_ORIGIN", "caseledger.example/ledger")
LEDGER_STATE_PER_DATABASE = DEMO or env_bool("CASELEDGER_TESTING")
LEDGER_SIGNING_KEY_FILE = os.environ.get("CASELEDGER_LEDGER_SIGNING_KEY_FILE", "")
LEDGER_CHECKPOINT_INTERVAL_SECONDS = float(os.environ.get("CASELEDGER_CHECKPOINT_INTERVAL", "5"))
LEDGER_CHECKPOINT_DIR = os.environ.get(
    "CASELEDGER_CHECKPOINT_DIR", "" if LEDGER_STATE_PER_DATABASE else str(VAR_DIR / "checkpoints")
)

# --- encryption at rest -------------------------------------------------------------------
# Keys for biometric templates and evidence images: base64 of 32 random bytes, newest first,
# comma-separated ("id:key" pairs allow rotation). Read from the environment, never stored in
# the database. Demo and tests derive a fixed key so that they run without set-up.
ENCRYPTION_KEYS = os.environ.get("CASELEDGER_ENCRYPTION_KEYS", "")
if not ENCRYPTION_KEYS and (DEMO or env_bool("CASELEDGER_TESTING")):
    import base64
    import hashlib

    ENCRYPTION_KEYS = (
        "demo:"
        + base64.b64encode(
            hashlib.sha256(b"caseledger demo and test key, not secret").digest()
        ).decode()
    )

# --- face verification ----------------------------------------------------------------------
# Chosen by `caseledger faces calibrate` for FACE_TARGET_FMR on LFW (docs/FACE_VERIFICATION.md).
FACE_MATCH_THRESHOLD = float(os.environ.get("CASELEDGER_FACE_THRESHOLD", "0.525"))
FACE_THRESHOLD_VERSION = os.environ.get("CASELEDGER_FACE_THRESHOLD_VERSION", "2026-12-dlib-v3")
# The false-match rate `caseledger faces calibrate` chooses the threshold for.
FACE_TARGET_FMR = float(os.environ.get("CASELEDGER_FACE_TARGET_FMR", "1e-3"))
FACE_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
FACE_MAX_PIXELS = 40_000_000  # the most pixels any header may declare
# The decode budget (biometrics/decode_budget.py): decoded pixels (larger JPEGs are scaled down
# by libjpeg while decoding), estimated memory of one decode, decodes at once per process, and
# how long a photo waits for a decode slot before it is refused as "busy".
FACE_DECODE_MAX_PIXELS = 12_000_000
FACE_DECODE_MAX_BYTES = 128 * 1024 * 1024
FACE_DECODE_CONCURRENCY = int(os.environ.get("CASELEDGER_FACE_DECODE_CONCURRENCY", "2"))
FACE_DECODE_WAIT_SECONDS = 20

# --- supervision --------------------------------------------------------------------------
REVIEW_SLA_HOURS = int(os.environ.get("CASELEDGER_REVIEW_SLA_HOURS", "24"))
FAILED_IMAGE_RETENTION_DAYS = 28
ENROLMENT_PHOTO_RETENTION_DAYS = 30
LOCATION_RETENTION_DAYS = int(os.environ.get("CASELEDGER_LOCATION_RETENTION_DAYS", "365"))
# A check-in is a short burst following a head-turn prompt (biometrics/liveness.py); a single
# still photo is then never a verified check-in. Off: the single-photo check-in of before.
LIVENESS_REQUIRED = env_bool("CASELEDGER_LIVENESS_REQUIRED", True)

# --- background tasks (django.tasks with a database queue; worker: `caseledger db_worker`) ---
TASKS = {
    "default": {
        "BACKEND": os.environ.get("CASELEDGER_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- notices (reminders) -------------------------------------------------------------------
REMINDER_DAYS_BEFORE = [
    int(d) for d in os.environ.get("CASELEDGER_REMINDER_DAYS", "7,3,1").split(",")
]
# Django 6.1 mailers: "default" sends reminders (and alert copies) over SMTP.
MAILERS = {
    "default": {
        "BACKEND": os.environ.get(
            "CASELEDGER_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
        ),
        "OPTIONS": {
            "host": os.environ.get("CASELEDGER_SMTP_HOST", "127.0.0.1"),
            "port": int(os.environ.get("CASELEDGER_SMTP_PORT", "25")),
            "timeout": int(os.environ.get("CASELEDGER_SMTP_TIMEOUT", "10")),
        },
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("CASELEDGER_FROM_EMAIL", "reminders@caseledger.example")
SMS_GATEWAY_URL = os.environ.get("CASELEDGER_SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("CASELEDGER_SMS_GATEWAY_TOKEN", "")
# Channels: "email", "sms", "file" (the demo writes messages to var/outbox instead of sending).
NOTICE_CHANNELS = os.environ.get(
    "CASELEDGER_NOTICE_CHANNELS", "file" if DEMO else "email,sms"
).split(",")
NOTICE_OUTBOX_DIR = os.environ.get("CASELEDGER_OUTBOX", str(VAR_DIR / "outbox"))

# --- requests -----------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not env_bool("CASELEDGER_TESTING")
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Source maps are for developers' tools, not pages: compressing them was most of the CPU
# `serve` spent preparing static files.
from whitenoise.compress import Compressor as _Compressor  # noqa: E402

WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*_Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]

# --- transport security (HTTPS) -------------------------------------------------------------
# A deployment is served over HTTPS only: Secure cookies, HSTS and the redirect to https are
# on by default, except in the demo and the test suite (both serve http://localhost). A
# plain-HTTP lab switches each off: CASELEDGER_SECURE_COOKIES=0, CASELEDGER_HSTS_SECONDS=0,
# CASELEDGER_SSL_REDIRECT=0. Behind a proxy that terminates TLS, set
# CASELEDGER_PROXY_SSL_HEADER=X-Forwarded-Proto (the proxy must overwrite that header on every
# request): a request is then taken as HTTPS when the header says "https".
HTTPS_ONLY_DEFAULT = not (DEMO or env_bool("CASELEDGER_TESTING"))
SESSION_COOKIE_SECURE = env_bool("CASELEDGER_SECURE_COOKIES", default=HTTPS_ONLY_DEFAULT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(
    os.environ.get("CASELEDGER_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS_ONLY_DEFAULT else 0)
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("CASELEDGER_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a commitment for the whole domain that is slow to undo: the operator opts in.
SECURE_HSTS_PRELOAD = env_bool("CASELEDGER_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")
SECURE_SSL_REDIRECT = env_bool("CASELEDGER_SSL_REDIRECT", default=HTTPS_ONLY_DEFAULT)
# A load balancer's health probe may speak plain HTTP; the answer is "ok" and nothing else.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(os.environ.get("CASELEDGER_PROXY_SSL_HEADER", ""))

# Photo uploads (check-in submissions, refused ones too) per participant and per client address
# within the window; 0 turns a limit off. Behind a reverse proxy REMOTE_ADDR is the proxy's, so
# the per-address limit is off there unless set explicitly (the proxy should limit instead).
CHECKIN_UPLOADS_PER_PARTICIPANT = int(
    os.environ.get("CASELEDGER_CHECKIN_UPLOADS_PER_PARTICIPANT", "10")
)
CHECKIN_UPLOADS_PER_ADDRESS = int(
    os.environ.get(
        "CASELEDGER_CHECKIN_UPLOADS_PER_ADDRESS", "0" if SECURE_PROXY_SSL_HEADER else "30"
    )
)
CHECKIN_UPLOAD_WINDOW_SECONDS = int(
    os.environ.get("CASELEDGER_CHECKIN_UPLOAD_WINDOW_SECONDS", "600")
)

# --- browser policy ---------------------------------------------------------------------------
# The Content-Security-Policy applies everywhere, demo and tests included (the browser tests
# run every page under it). No inline script: every <script> is a file of ours and carries
# the per-response nonce ({{ csp_nonce }}); no inline style (scripts may still set element
# styles through the DOM, which CSP does not govern). Photos preview as blob: and data: images.
# Permissions-Policy and Cache-Control: caseledger/core/security.py.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "media-src": [CSP.SELF, "blob:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CASELEDGER_LOG_LEVEL", "WARNING")},
}
