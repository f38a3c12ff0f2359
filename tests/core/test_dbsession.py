"""Every PostgreSQL session the application opens has JIT compilation off."""

from __future__ import annotations

import pytest
from django.db import connection, connections


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_the_applications_session_has_jit_off():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_new_session_is_set_too():
    connections["default"].close()
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
        cursor.execute("SELECT setting, source FROM pg_settings WHERE name = 'jit'")
        assert cursor.fetchone() == ("off", "session")  # set by the application, not the server
