"""The ledger as a verifiable log: stored tree, signed checkpoints, proofs, export, auditor."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.test import Client

from caseledger.ledger import checkpoints, encoding, tree
from caseledger.ledger.models import Checkpoint, Entry, Event, Node
from caseledger.ledger.services import SYSTEM, integrate_pending, record_event
from caseledger.ledger.verify import verify_ledger
from caseledger_verify import cli as verify_cli
from caseledger_verify import merkle, note
from tests.ledger.test_ledger import bypass_protection


def add_events(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        record_event(actor=SYSTEM, action="read", category="identity", purpose="caseload",
                     record_type="people.person", record_id=f"p{i}")
    integrate_pending()


def leaf_hashes() -> list[bytes]:
    rows = Entry.objects.order_by("position").values_list("leaf_hash", flat=True)
    return [bytes(h) for h in rows]


def run_verify(*argv: str) -> int:
    return verify_cli.main([*argv, "--no-state"])


@pytest.fixture
def key_file(tmp_path: Path, ledger_signing_key: str) -> Path:
    path = tmp_path / "key.pub"
    path.write_text(ledger_signing_key + "\n")
    return path


@pytest.mark.django_db
@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 31, 64, 100])
def test_stored_tree_matches_the_reference_root(n):
    add_events(n)
    hashes = leaf_hashes()
    assert tree.root_at(n) == merkle.root_from_leaf_hashes(hashes)
    assert Node.objects.count() == sum(n >> level for level in range(1, n.bit_length()))
    for size in {1, n // 2 or 1, n}:
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            merkle.verify_inclusion(hashes[index], index, size, proof,
                                    merkle.root_from_leaf_hashes(hashes[:size]))
        for old in range(0, size + 1):
            proof = tree.consistency_proof(old, size)
            merkle.verify_consistency(old, size, merkle.root_from_leaf_hashes(hashes[:old]),
                                      merkle.root_from_leaf_hashes(hashes[:size]), proof)


@pytest.mark.django_db
def test_integration_in_batches_gives_the_same_tree():
    for batch in (1, 5, 2, 9, 16):
        add_events(batch, start=Event.objects.count())
    hashes = leaf_hashes()
    assert tree.root_at(len(hashes)) == merkle.root_from_leaf_hashes(hashes)


@pytest.mark.django_db
def test_checkpoint_is_signed_written_and_verifiable(checkpoint_dir, ledger_signing_key):
    add_events(10)
    made = checkpoints.sign_checkpoint()
    assert made is not None and made.size == 10
    signed = note.verify_note(made.note, ledger_signing_key)
    assert signed.size == 10 and signed.root == merkle.root_from_leaf_hashes(leaf_hashes())
    assert (checkpoint_dir / "10").read_text() == made.note
    assert made.note.splitlines()[0] == "caseledger.example/ledger"
    assert checkpoints.sign_checkpoint() is None  # nothing new
    add_events(3, start=10)
    assert checkpoints.sign_checkpoint().size == 13
    assert verify_ledger().ok


@pytest.mark.django_db
def test_signer_refuses_a_tree_inconsistent_with_its_last_checkpoint():
    add_events(8)
    checkpoints.sign_checkpoint()
    add_events(2, start=8)
    with bypass_protection(), connection.cursor() as cur:
        cur.execute("UPDATE ledger_node SET hash = %s WHERE level = 3 AND \"index\" = 0",
                    [bytes(32)])
    with pytest.raises(checkpoints.CheckpointRefused, match="checkpoint 8"):
        checkpoints.sign_checkpoint()
    assert Checkpoint.objects.count() == 1


@pytest.mark.django_db
def test_ledger_checkpoint_command(capsys):
    add_events(4)
    call_command("ledger", "checkpoint")
    assert "signed checkpoint 4" in capsys.readouterr().out
    call_command("ledger", "checkpoint")
    assert "unchanged since checkpoint 4" in capsys.readouterr().out


@pytest.mark.django_db
def test_proof_api_round_trip_through_the_auditor_tool(tmp_path, key_file):
    add_events(21)
    checkpoints.sign_checkpoint()
    client = Client()
    note_text = client.get("/api/v1/ledger/checkpoint")
    assert note_text.status_code == 200 and note_text["Content-Type"].startswith("text/plain")
    (tmp_path / "cp").write_text(note_text.content.decode())
    event = Event.objects.get(entry__position=13)
    response = client.get(f"/api/v1/ledger/proofs/inclusion?event={event.uuid}")
    assert response.status_code == 200
    proof = response.json()
    assert proof["leaf_index"] == 13 and proof["tree_size"] == 21
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    assert run_verify("inclusion", str(tmp_path / "proof.json"), "--checkpoint",
                      str(tmp_path / "cp"), "--key", str(key_file)) == 0
    # a proof with one hash flipped fails
    bad = dict(proof, hashes=[base64.b64encode(bytes(32)).decode()] + proof["hashes"][1:])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert run_verify("inclusion", str(tmp_path / "bad.json"), "--checkpoint",
                      str(tmp_path / "cp"), "--key", str(key_file)) == 1
    # consistency between two signed checkpoints
    (tmp_path / "old").write_text(note_text.content.decode())
    add_events(12, start=21)
    checkpoints.sign_checkpoint()
    (tmp_path / "new").write_text(client.get("/api/v1/ledger/checkpoint").content.decode())
    response = client.get("/api/v1/ledger/proofs/consistency?from=21&to=33")
    assert response.status_code == 200, response.content
    (tmp_path / "cons.json").write_text(response.content.decode())
    assert run_verify("consistency", str(tmp_path / "old"), str(tmp_path / "new"), "--key",
                      str(key_file), "--proof", str(tmp_path / "cons.json")) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "status"), [
    ("/api/v1/ledger/proofs/inclusion?event=not-a-uuid", 422),
    ("/api/v1/ledger/proofs/inclusion?event=00000000-0000-4000-8000-000000000000", 404),
    ("/api/v1/ledger/proofs/inclusion?event={event}&size=0", 422),
    ("/api/v1/ledger/proofs/inclusion?event={event}&size=999", 422),
    ("/api/v1/ledger/proofs/inclusion?event={event}&size=2", 422),
    ("/api/v1/ledger/proofs/inclusion?event={event}&size=abc", 422),
    ("/api/v1/ledger/proofs/consistency?from=5&to=3", 422),
    ("/api/v1/ledger/proofs/consistency?from=1&to=999", 422),
    ("/api/v1/ledger/proofs/consistency?from=x&to=3", 422),
    ("/api/v1/ledger/proofs/consistency", 422),
])
def test_proof_api_bad_input(url, status):
    add_events(6)
    checkpoints.sign_checkpoint()
    event = Event.objects.get(entry__position=4)
    response = Client().get(url.format(event=event.uuid))
    assert response.status_code == status, response.content
    assert response.json()["detail"]


@pytest.mark.django_db
def test_no_checkpoint_yet_is_a_404():
    response = Client().get("/api/v1/ledger/checkpoint")
    assert response.status_code == 404


@pytest.mark.django_db
def test_export_verifies_with_the_auditor_tool(tmp_path, capsys):
    add_events(40)
    checkpoints.sign_checkpoint()
    add_events(9, start=40)
    checkpoints.sign_checkpoint()
    out = tmp_path / "export"
    call_command("ledger", "export", "--out", str(out))
    lines = (out / "entries.jsonl").read_text().splitlines()
    assert len(lines) == 49 and json.loads(lines[0])["index"] == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["40", "49"]
    assert run_verify("export", str(out)) == 0
    with pytest.raises(CommandError, match="not empty"):
        call_command("ledger", "export", "--out", str(out))


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["edit", "rewrite", "delete", "reorder"])
def test_tamper_drill(tmp_path, tamper, capsys):
    """A database owner turns the triggers off and edits, deletes or reorders one event;
    both `caseledger ledger verify` and `caseledger-verify export` name the first bad position."""
    add_events(30)
    checkpoints.sign_checkpoint()
    target = Entry.objects.get(position=11)
    other = Entry.objects.get(position=20)
    with bypass_protection(), connection.cursor() as cur:
        if tamper == "edit":
            cur.execute("UPDATE ledger_event SET action = 'create' WHERE id = %s",
                        [target.event_id])
        elif tamper == "rewrite":  # the field, its bytes and its hash, consistently
            event = Event.objects.get(id=target.event_id)
            event.outcome = "denied"
            leaf = encoding.canonical_bytes(encoding.event_fields(event))
            cur.execute("UPDATE ledger_event SET outcome = 'denied', leaf = %s, leaf_hash = %s "
                        "WHERE id = %s", [leaf, encoding.leaf_hash(leaf), target.event_id])
        elif tamper == "delete":
            cur.execute("DELETE FROM ledger_event WHERE id = %s", [target.event_id])
        else:
            cur.execute("UPDATE ledger_entry SET event_id = -1 WHERE position = 11")
            cur.execute("UPDATE ledger_entry SET event_id = %s WHERE position = 20",
                        [target.event_id])
            cur.execute("UPDATE ledger_entry SET event_id = %s WHERE position = 11",
                        [other.event_id])
    result = verify_ledger()
    assert not result.ok and result.position == 11, result.summary()
    with pytest.raises(CommandError, match="position 11"):
        call_command("ledger", "verify")
    out = tmp_path / "export"
    call_command("ledger", "export", "--out", str(out))
    capsys.readouterr()
    assert run_verify("export", str(out)) == 1
    assert "11" in capsys.readouterr().err


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_long_open_transaction_is_neither_skipped_nor_placed_twice():
    """An event inserted in a transaction that commits after later events were integrated is
    placed when it commits: once, after them."""
    add_events(3)
    inserted = threading.Event()
    release = threading.Event()
    slow_id: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                event = record_event(actor=SYSTEM, action="read", category="identity",
                                     purpose="caseload", record_id="slow")
                slow_id.append(event.id)
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    add_events(4, start=3)  # later events commit and are integrated first
    assert Entry.objects.count() == 7
    release.set()
    thread.join(10)
    integrate_pending()
    integrate_pending()
    assert Entry.objects.count() == Event.objects.count() == 8
    assert Entry.objects.get(event_id=slow_id[0]).position == 7
    assert verify_ledger().ok


@pytest.mark.django_db
def test_proof_from_a_tree_with_a_removed_node_is_503_not_500():
    add_events(8)
    checkpoints.sign_checkpoint()
    with bypass_protection(), connection.cursor() as cur:
        cur.execute('DELETE FROM ledger_node WHERE level = 2 AND "index" = 1')
    event = Event.objects.get(entry__position=0)
    response = Client().get(f"/api/v1/ledger/proofs/inclusion?event={event.uuid}")
    assert response.status_code == 503
    assert "ledger verify" in response.json()["detail"]
