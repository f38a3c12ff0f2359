"""Settings for the test suite: the real settings, with test conveniences made explicit."""

import os

os.environ.setdefault("CASELEDGER_TESTING", "1")

from caseledger.settings import *  # noqa: E402,F403
from caseledger.settings import DATABASES, STATIC_ROOT, VAR_DIR  # noqa: E402

# Static files come from the finders in tests; WhiteNoise still wants its root to exist (a
# clean clone has no collected files yet).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Argon2 stays the hasher; cheaper parameters keep the suite quick.
PASSWORD_HASHERS = ["tests.hashers.QuickArgon2PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's shared-cache in-memory default: the live server's threads then
    # each hold their own connection, and writers serialise (BEGIN IMMEDIATE, WAL) exactly
    # as in the demo. In shared-cache memory two requests could chain the same event twice.
    DATABASES["default"]["TEST"] = {
        "NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3"),
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Lets the test runner's flush TRUNCATE the ledger tables between transactional tests
    # (see ledger migration 0002: honoured only for the tables' owner).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c caseledger.allow_truncate=on"

# Most tests check in with one stub photo (the single-photo path); the liveness tests
# (tests/supervision/test_liveness*.py, the browser check-in) turn the burst check on.
LIVENESS_REQUIRED = False

# Background tasks run in the calling thread in tests; the database queue is exercised by the
# notices tests that need it explicitly.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
