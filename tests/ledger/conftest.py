"""The disclosures tests' subject (on officer_east's caseload, with a participant account and a
representative) and second privacy officer, shared with the access and ledger tests."""

from tests.disclosures.conftest import person, privacy2, subject  # noqa: F401
