"""Work that runs on one node at a time, however many nodes share the database.

Every node runs `caseledger serve`, and so every background loop (BACKGROUND_JOBS). Each
loop's work is guarded by a PostgreSQL session-level advisory lock named after the loop: the
node whose loop takes the lock first leads that loop for as long as its process (and its
database session) lives; the other nodes' loops check at each of their ticks and skip the
tick quietly. If the leader stops, or its database session ends, the lock is freed and the
first follower to tick next takes over. No home-made cluster code: the database that every
node already needs is the arbiter.

Session-level locks need a real session: a loop's connection must not go through a pooler in
transaction mode (pgbouncer `pool_mode = transaction`). On SQLite (one machine, the demo)
every caller leads. docs/DEPLOY.md says which loops need this for correctness.

`leader(name)` holds the lock for one block only (one run of a job); `Leadership(name)` keeps
it across ticks (a loop), so a daily job runs once a day across all nodes, not once per node.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connections

logger = logging.getLogger("caseledger.singleton")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name`. SHA-256 rather than PostgreSQL's
    `hashtext`, whose values are not promised to stay the same across major versions: nodes
    on two versions during an upgrade must still agree."""
    digest = hashlib.sha256(b"caseledger.singleton:" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _on_postgresql(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def _query(using: str, sql: str, params: list[Any]) -> bool:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.fetchone()[0])


def _try_lock(key: int, using: str) -> bool:
    return _query(using, "SELECT pg_try_advisory_lock(%s)", [key])


def _unlock(key: int, using: str) -> None:
    _query(using, "SELECT pg_advisory_unlock(%s)", [key])


def _holds(key: int, using: str) -> bool:
    """Whether this very session holds `key` (pg_locks shows a bigint key as its high and low
    32 bits in classid/objid, with objsubid 1)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return _query(
        using,
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND pid = pg_backend_pid() AND database = (SELECT oid FROM pg_database"
        " WHERE datname = current_database()) AND classid = %s AND objid = %s"
        " AND objsubid = 1)",
        [unsigned >> 32, unsigned & 0xFFFF_FFFF],
    )


def node_name() -> str:
    """How log lines name this node and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def leader(name: str, *, using: str = "default") -> Iterator[bool]:
    """Yield True, holding `name`'s lock for the block, if no other session holds it; else
    yield False at once (never waits). The lock is released when the block ends."""
    if not _on_postgresql(using):
        yield True
        return
    key = lock_key(name)
    if not _try_lock(key, using):
        logger.debug("'%s' is running on another node; skipped here", name)
        yield False
        return
    try:
        yield True
    finally:
        _unlock(key, using)


class Leadership:
    """`name`'s lock, kept from the tick that takes it until `release()` or the end of the
    process (its database session). Use as a context manager around a loop, and call
    `acquire()` at each tick: True means this node leads and does the tick's work."""

    def __init__(self, name: str, *, using: str = "default") -> None:
        self.name = name
        self.using = using
        self.key = lock_key(name)
        self.held = False
        self.runs = 0  # ticks this process led (did the work)

    def acquire(self) -> bool:
        """Keep the lock if this session still holds it, else try to take it (never waits)."""
        if not _on_postgresql(self.using):
            self.held = True
            return True
        was_held = self.held
        self.held = (was_held and _holds(self.key, self.using)) or _try_lock(self.key, self.using)
        if self.held and not was_held:
            logger.info("'%s' leads on %s", self.name, node_name())
        elif was_held and not self.held:
            logger.warning(
                "'%s' lost its lock on %s (database session ended)", self.name, node_name()
            )
        elif not self.held:
            logger.debug("'%s' leads on another node; tick skipped on %s", self.name, node_name())
        return self.held

    def release(self) -> None:
        if self.held and _on_postgresql(self.using) and _holds(self.key, self.using):
            _unlock(self.key, self.using)
        self.held = False

    def guard(self, tick: Callable[[], Any]) -> Callable[[], None]:
        """`tick`, run only while this node leads."""

        def guarded() -> None:
            if self.acquire():
                tick()
                self.runs += 1

        return guarded

    def __enter__(self) -> Leadership:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.release()
        except DatabaseError as error:  # the session is gone, and its locks with it
            self.held = False
            logger.warning("'%s': could not release its lock (%s)", self.name, error)


def run_as_leader(name: str, tick: Callable[[], Any], *, every: float, max_ticks: int = 0) -> int:
    """`run_every(tick)` on every node, with `tick` run only where `name` leads; returns how
    many ticks ran here."""
    from caseledger.core.loop import run_every

    with Leadership(name) as leadership:
        run_every(leadership.guard(tick), every=every, max_ticks=max_ticks)
        return leadership.runs
