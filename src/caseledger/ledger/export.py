"""Export of the log for outside auditors: entries, signed checkpoints and the public key.

Layout (read by `caseledger-verify export DIR`):
  entries.jsonl        {"index": i, "leaf": base64(leaf bytes), "chain": hex(chain hash)}, in
                       tree order; the leaf is the canonical encoding of the event as stored now
  checkpoints/<size>   each signed note, byte for byte
  key.pub              the verifier key (name+hash+base64 public key)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

from . import checkpoints, encoding
from .models import Checkpoint, Entry, events_by_id


def export_ledger(out: Path, *, chunk: int = 10_000,
                  progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Write the export to `out`; returns (entries, checkpoints) written."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    written = 0
    last = -1
    with (out / "entries.jsonl").open("w", encoding="ascii") as fh:
        while True:
            rows = list(Entry.objects.filter(position__gt=last).order_by("position")
                        .values_list("position", "event_id", "chain_hash")[:chunk])
            if not rows:
                break
            events = events_by_id([r[1] for r in rows])
            for position, event_id, chain in rows:
                event = events.get(event_id)
                if event is None:  # removed behind the application's back: export the gap
                    continue
                # The leaf is re-encoded from the event as the application reads it, so an
                # edit of any field (with or without the stored bytes) reaches the auditor.
                leaf = encoding.canonical_bytes(encoding.event_fields(event))
                fh.write(json.dumps({"index": position,
                                     "leaf": base64.b64encode(leaf).decode(),
                                     "chain": bytes(chain).hex()}, separators=(",", ":")))
                fh.write("\n")
                written += 1
            last = rows[-1][0]
            if progress:
                progress(len(rows))
    count = 0
    for checkpoint in Checkpoint.objects.order_by("size"):
        (out / "checkpoints" / str(checkpoint.size)).write_text(checkpoint.note)
        count += 1
    (out / "key.pub").write_text(checkpoints.verifier_key() + "\n")
    return written, count
