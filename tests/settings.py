"""Settings for the test suite: the real settings, with test conveniences made explicit."""

import os

os.environ.setdefault("CASELEDGER_TESTING", "1")

from caseledger.settings import *  # noqa: E402,F403
from caseledger.settings import DATABASES  # noqa: E402

# Argon2 stays the hasher; cheaper parameters keep the suite quick.
PASSWORD_HASHERS = ["tests.hashers.QuickArgon2PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Lets the test runner's flush TRUNCATE the ledger tables between transactional tests
    # (see ledger migration 0002: honoured only for the tables' owner).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c caseledger.allow_truncate=on"

# Background tasks run in the calling thread in tests; the database queue is exercised by the
# notices tests that need it explicitly.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
