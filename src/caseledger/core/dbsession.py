"""What every PostgreSQL session the application opens is set to.

`jit = off`: PostgreSQL compiles a statement to machine code when its estimated cost passes
`jit_above_cost` (100,000 by default), and the application's statements are short reads whose
estimates pass it on a large ledger. Measured at 10^7 events (docs/BENCHMARKS.md): the
"who accessed my record" page of a much-read person took 157 ms with JIT, 60 ms of it
compiling, and 63 ms without. Set once per session (sessions are reused for a minute), so it
works through a pooler in session mode as directly (docs/DEPLOY.md); a `SET` rather than a
startup option, which poolers may refuse."""

from __future__ import annotations

from typing import Any


def configure_session(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
