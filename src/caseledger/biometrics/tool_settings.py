"""Settings for `caseledger faces ...`: the face tools need no database and no secret key.

The tools read photo files and print results; they serve nothing, sign nothing and store
nothing, so they must run on an analyst's machine with no configuration at all. These
settings are the project's own (the same ``FACE_*`` values, thresholds and limits, read from
the same environment variables), with the site removed: no database, no other app, and a
throw-away secret key made for this process (nothing it could sign outlives the process).

``caseledger faces`` selects this module itself; to use it elsewhere set
``DJANGO_SETTINGS_MODULE=caseledger.biometrics.tool_settings``.
"""

from __future__ import annotations

import os
import secrets

# The project settings refuse to load without CASELEDGER_SECRET_KEY outside the demo, the
# tests and `--help`, and create a SQLite database folder under the working directory. Load
# them as `--help` does, with a database URL that is parsed but never opened, then replace
# what a tool must not use.
_TEMPORARY = {"CASELEDGER_HELP_ONLY": "1", "DATABASE_URL": "postgres://unused.invalid/unused"}
_previous = {name: os.environ.get(name) for name in _TEMPORARY}
os.environ.update(_TEMPORARY)
try:
    from caseledger.settings import *  # noqa: E402,F403
finally:
    for _name, _value in _previous.items():
        if _value is None:
            del os.environ[_name]
        else:
            os.environ[_name] = _value

SECRET_KEY = secrets.token_urlsafe(48)
DATABASES: dict[str, dict[str, str]] = {}  # Django's dummy backend: any query fails loudly
INSTALLED_APPS = ["caseledger.biometrics"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = None
