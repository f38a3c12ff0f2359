"""Monthly partitions of `supervision_checkin` on PostgreSQL (SQLite keeps one plain table).

Since supervision migration 0007 the check-ins are `PARTITION BY RANGE (window_opens_at)`:
one partition per UTC month of the window a check-in answers, named
`supervision_checkin_yYYYYmMM`, and a DEFAULT partition. The window is the partition key
because everything that finds check-ins names it: the per-window try limit and its unique
constraint (enrolment, window, attempt), the window's review, the sweep, the participant's
and the officer's lists. The mechanism is `core/partitions.py`, shared with the ledger;
`caseledger migrate` and `caseledger ledger partitions` make the months ahead.

What the partition key changes (docs/LEDGER.md, "Partitions"):
- the database's primary key is (id, window_opens_at); Django still knows `id`;
- the replay refusal (one check-in per client `submission_id`, across all windows) is the
  primary key of `supervision_checkin_submission`, which also names the window of the
  check-in, so a retry is found in one partition;
- reviews reference their check-in by (checkin_id, window_opens_at) and departures by
  (checkin_id, checkin_window_opens_at): composite foreign keys, made by the migration.
"""

from __future__ import annotations

from caseledger.core import partitions as core

TABLE = "supervision_checkin"

CHECKINS = core.register(core.Monthly(
    table=TABLE,
    column="window_opens_at",
    rows="check-ins",
    month_comment="Check-ins of the windows opening in {month} (UTC)",
    default_comment="Check-ins of months without their own partition (should stay empty)",
    lock_key=0x6368_6563_6B70_6172,  # "checkpar"
    check_id="supervision.W001",
))
