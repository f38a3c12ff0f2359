"""The disclosures tests' subject (on officer_east's caseload, with a participant account and a
representative) and second privacy officer, shared with the access and ledger tests; the
supervision tests' plain face stub and out-of-line ledger, shared with the query counts."""

from tests.disclosures.conftest import person, privacy2, subject  # noqa: F401
from tests.supervision.conftest import faces, out_of_line_ledger  # noqa: F401
