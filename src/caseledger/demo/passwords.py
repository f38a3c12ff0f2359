"""Argon2 with light parameters while seeding: the demo's password is published, and the
other participants' temporary passwords are random and never shown, so the full parameters
(about half a second per hash on a small machine, some fifty hashes) would only slow the demo
down. Django re-hashes a password with the configured parameters at its first sign-in."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class SeedArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 1024  # KiB
    parallelism = 1


SEED_HASHERS = [f"{__name__}.SeedArgon2PasswordHasher"]
