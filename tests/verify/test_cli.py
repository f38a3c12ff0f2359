"""The ``caseledger-verify`` command, driven through ``main(argv)`` and as a subprocess."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import caseledger_verify
from caseledger_verify.cli import main
from caseledger_verify.merkle import (
    CHAIN_SEED,
    ConsistencyProof,
    InclusionProof,
    InMemoryTree,
    chain_hash,
    leaf_hash,
)
from caseledger_verify.note import generate_signer, sign_checkpoint

ORIGIN = "caseledger.example/access-ledger"
SKEY, VKEY = generate_signer(ORIGIN)
OTHER_SKEY, OTHER_VKEY = generate_signer(ORIGIN)  # same name, different key
SRC_DIR = str(Path(caseledger_verify.__file__).resolve().parent.parent)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_leaves(n: int, tag: str = "event") -> list[bytes]:
    return [json.dumps({"seq": i, "what": f"{tag} {i}"}).encode() for i in range(n)]


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("CASELEDGER_VERIFY_STATE", str(state))
    return state


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "trusted.pub"
    path.write_text(f"# caseledger production ledger\n{VKEY}\n")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def write_checkpoint(path: Path, tree: InMemoryTree, size: int, skey: str = SKEY) -> Path:
    path.write_text(sign_checkpoint(ORIGIN, size, tree.root(size), skey))
    return path


def write_export(
    directory: Path,
    leaves: list[bytes],
    checkpoint_sizes: list[int],
    *,
    chain: bool = False,
    leaf_hashes: bool = False,
) -> Path:
    directory.mkdir(parents=True)
    tree = InMemoryTree(leaf_hash(leaf) for leaf in leaves)
    lines = []
    prev = CHAIN_SEED
    for i, leaf in enumerate(leaves):
        entry: dict[str, object] = {"index": i, "leaf": b64(leaf)}
        lh = leaf_hash(leaf)
        if leaf_hashes:
            entry["leaf_hash"] = lh.hex()
        if chain:
            prev = chain_hash(prev, lh)
            entry["chain"] = prev.hex()
        lines.append(json.dumps(entry))
    (directory / "entries.jsonl").write_text("".join(line + "\n" for line in lines))
    (directory / "checkpoints").mkdir()
    for size in checkpoint_sizes:
        write_checkpoint(directory / "checkpoints" / str(size), tree, size)
    (directory / "key.pub").write_text(VKEY + "\n")
    return directory


def read_lines(directory: Path) -> list[str]:
    return (directory / "entries.jsonl").read_text().splitlines(keepends=True)


def write_lines(directory: Path, lines: list[str]) -> None:
    (directory / "entries.jsonl").write_text("".join(lines))


# --- checkpoint ----------------------------------------------------------------------------


def test_checkpoint_ok(tmp_path: Path, key_file: Path, capsys) -> None:
    tree = InMemoryTree(leaf_hash(x) for x in make_leaves(10))
    cp = write_checkpoint(tmp_path / "cp", tree, 10)
    code, out, err = run(["checkpoint", cp, "--key", key_file], capsys)
    assert code == 0, err
    assert out == f"OK checkpoint origin={ORIGIN} size=10 root={b64(tree.root())}\n"


def test_checkpoint_bad_signature(tmp_path: Path, key_file: Path, capsys) -> None:
    tree = InMemoryTree(leaf_hash(x) for x in make_leaves(10))
    cp = write_checkpoint(tmp_path / "cp", tree, 10)
    cp.write_text(cp.read_text().replace("\n10\n", "\n11\n"))
    code, out, err = run(["checkpoint", cp, "--key", key_file], capsys)
    assert code == 1
    assert out == ""
    assert "FAIL" in err and "invalid signature" in err and str(cp) in err


def test_checkpoint_signed_by_another_key(tmp_path: Path, key_file: Path, capsys) -> None:
    tree = InMemoryTree(leaf_hash(x) for x in make_leaves(3))
    cp = write_checkpoint(tmp_path / "cp", tree, 3, OTHER_SKEY)
    code, _, err = run(["checkpoint", cp, "--key", key_file], capsys)
    assert code == 1
    assert "different key hash" in err


def test_unreadable_inputs_exit_2(tmp_path: Path, key_file: Path, capsys) -> None:
    code, _, err = run(["checkpoint", tmp_path / "missing", "--key", key_file], capsys)
    assert code == 2 and "cannot read checkpoint" in err
    bad_key = tmp_path / "bad.pub"
    bad_key.write_text("not a key\n")
    code, _, err = run(["checkpoint", tmp_path / "missing", "--key", bad_key], capsys)
    assert code == 2 and "key file" in err
    two_keys = tmp_path / "two.pub"
    two_keys.write_text(f"{VKEY}\n{OTHER_VKEY}\n")
    code, _, err = run(["checkpoint", tmp_path / "missing", "--key", two_keys], capsys)
    assert code == 2 and "exactly one verifier key, found 2" in err


def test_bad_usage_exit_2(capsys) -> None:
    assert run([], capsys)[0] == 2
    assert run(["frobnicate"], capsys)[0] == 2
    assert run(["checkpoint", "x"], capsys)[0] == 2  # --key is required
    assert run(["checkpoint", "x", "--key", "k", "--state", "s", "--no-state"], capsys)[0] == 2
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "inclusion" in out


# --- rollback and fork ---------------------------------------------------------------------


def test_rollback_is_detected(tmp_path: Path, key_file: Path, capsys) -> None:
    tree = InMemoryTree(leaf_hash(x) for x in make_leaves(100))
    cp100 = write_checkpoint(tmp_path / "cp100", tree, 100)
    cp50 = write_checkpoint(tmp_path / "cp50", tree, 50)
    assert run(["checkpoint", cp100, "--key", key_file], capsys)[0] == 0
    code, out, err = run(["checkpoint", cp50, "--key", key_file], capsys)
    assert code == 1
    assert out == ""
    assert "ROLLBACK" in err and "size 50" in err and "size 100" in err
    # Without state, the same checkpoint is simply valid.
    assert run(["checkpoint", cp50, "--key", key_file, "--no-state"], capsys)[0] == 0
    # A separate state directory has not seen size 100.
    other_state = tmp_path / "other-state"
    assert run(["checkpoint", cp50, "--key", key_file, "--state", other_state], capsys)[0] == 0


def test_fork_same_size_different_root(tmp_path: Path, key_file: Path, capsys) -> None:
    honest = InMemoryTree(leaf_hash(x) for x in make_leaves(20))
    forked = InMemoryTree(leaf_hash(x) for x in make_leaves(20, tag="forged"))
    cp_a = write_checkpoint(tmp_path / "a", honest, 20)
    cp_b = write_checkpoint(tmp_path / "b", forked, 20)
    assert run(["checkpoint", cp_a, "--key", key_file], capsys)[0] == 0
    code, _, err = run(["checkpoint", cp_b, "--key", key_file], capsys)
    assert code == 1
    assert "FORK" in err and "size 20" in err
    assert b64(honest.root()) in err and b64(forked.root()) in err


def test_state_is_only_updated_by_successful_runs(tmp_path: Path, key_file: Path, capsys) -> None:
    tree = InMemoryTree(leaf_hash(x) for x in make_leaves(30))
    cp30 = write_checkpoint(tmp_path / "cp30", tree, 30)
    cp10 = write_checkpoint(tmp_path / "cp10", tree, 10)
    bad = tmp_path / "proof.json"
    bad.write_text(json.dumps({"leaf_index": 0, "tree_size": 30, "leaf": b64(b"x"), "hashes": []}))
    code, _, _ = run(["inclusion", bad, "--checkpoint", cp30, "--key", key_file], capsys)
    assert code == 1
    # Size 30 was not remembered, so size 10 is no rollback.
    assert run(["checkpoint", cp10, "--key", key_file], capsys)[0] == 0


# --- inclusion ---------------------------------------------------------------------------


@pytest.fixture
def log(tmp_path: Path) -> tuple[InMemoryTree, list[bytes], Path]:
    leaves = make_leaves(37)
    tree = InMemoryTree(leaf_hash(x) for x in leaves)
    return tree, leaves, write_checkpoint(tmp_path / "cp37", tree, 37)


def write_inclusion(path: Path, tree: InMemoryTree, index: int, size: int, **extra) -> Path:
    proof = InclusionProof(
        index, size, tree.node(0, index), tuple(tree.inclusion_proof(index, size))
    )
    path.write_text(json.dumps({**proof.to_dict(), **extra}))
    return path


def test_inclusion_ok(tmp_path: Path, key_file: Path, log, capsys) -> None:
    tree, leaves, cp = log
    proof = write_inclusion(tmp_path / "p.json", tree, 12, 37)
    code, out, err = run(["inclusion", proof, "--checkpoint", cp, "--key", key_file], capsys)
    assert code == 0, err
    assert out.startswith(
        f"OK leaf 12 (leaf hash {tree.node(0, 12).hex()}) is included in {ORIGIN}"
    )
    # "leaf" (the bytes) instead of "leaf_hash" works too, and --leaf-hash pins the leaf.
    data = json.loads(proof.read_text())
    del data["leaf_hash"]
    data["leaf"] = b64(leaves[12])
    proof.write_text(json.dumps(data))
    argv = ["inclusion", proof, "--checkpoint", cp, "--key", key_file]
    assert run([*argv, "--leaf-hash", leaf_hash(leaves[12]).hex()], capsys)[0] == 0
    code, _, err = run([*argv, "--leaf-hash", leaf_hash(leaves[13]).hex()], capsys)
    assert code == 1 and "not for the requested" in err


def test_inclusion_tampered_proof(tmp_path: Path, key_file: Path, log, capsys) -> None:
    tree, _, cp = log
    proof = write_inclusion(tmp_path / "p.json", tree, 12, 37)
    data = json.loads(proof.read_text())
    raw = bytearray(base64.b64decode(data["hashes"][2]))
    raw[5] ^= 1
    data["hashes"][2] = b64(bytes(raw))
    proof.write_text(json.dumps(data))
    code, _, err = run(["inclusion", proof, "--checkpoint", cp, "--key", key_file], capsys)
    assert code == 1
    assert "leaf 12 is NOT proven" in err and "computed root" in err


def test_inclusion_wrong_leaf(tmp_path: Path, key_file: Path, log, capsys) -> None:
    tree, _, cp = log
    proof = write_inclusion(tmp_path / "p.json", tree, 12, 37)
    data = json.loads(proof.read_text())
    data["leaf_hash"] = b64(leaf_hash(b"a forged access event"))
    proof.write_text(json.dumps(data))
    code, _, err = run(["inclusion", proof, "--checkpoint", cp, "--key", key_file], capsys)
    assert code == 1 and "NOT proven" in err


def test_inclusion_size_mismatch(tmp_path: Path, key_file: Path, log, capsys) -> None:
    tree, _, cp = log
    proof = write_inclusion(tmp_path / "p.json", tree, 3, 20)
    code, _, err = run(["inclusion", proof, "--checkpoint", cp, "--key", key_file], capsys)
    assert code == 1
    assert "tree size 20" in err and "size 37" in err


def test_inclusion_malformed_proof_exit_2(tmp_path: Path, key_file: Path, log, capsys) -> None:
    _, _, cp = log
    proof = tmp_path / "p.json"
    proof.write_text("{not json")
    code, _, err = run(["inclusion", proof, "--checkpoint", cp, "--key", key_file], capsys)
    assert code == 2 and "not valid JSON" in err
    proof.write_text(json.dumps({"leaf_index": 1, "tree_size": 37, "hashes": []}))
    code, _, err = run(["inclusion", proof, "--checkpoint", cp, "--key", key_file], capsys)
    assert code == 2 and "needs 'leaf_hash' or 'leaf'" in err


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    served = tmp_path / "www"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_inclusion_proof_from_url(key_file: Path, log, http_dir, capsys) -> None:
    tree, _, cp = log
    served, base = http_dir
    write_inclusion(served / "proof.json", tree, 36, 37)
    argv = ["inclusion", f"{base}/proof.json", "--checkpoint", cp, "--key", key_file]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert out.startswith("OK leaf 36 ")
    code, _, err = run(["inclusion", f"{base}/missing.json", *argv[2:]], capsys)
    assert code == 2 and "HTTP 404" in err


# --- consistency -------------------------------------------------------------------------


def consistency_setup(tmp_path: Path, old: int, new: int) -> tuple[Path, Path, Path]:
    tree = InMemoryTree(leaf_hash(x) for x in make_leaves(new))
    cp_old = write_checkpoint(tmp_path / f"cp{old}", tree, old)
    cp_new = write_checkpoint(tmp_path / f"cp{new}", tree, new)
    proof = tmp_path / "consistency.json"
    proof.write_text(
        json.dumps(ConsistencyProof(old, new, tuple(tree.consistency_proof(old, new))).to_dict())
    )
    return cp_old, cp_new, proof


def test_consistency_ok(tmp_path: Path, key_file: Path, capsys) -> None:
    cp_old, cp_new, proof = consistency_setup(tmp_path, 13, 40)
    argv = ["consistency", cp_old, cp_new, "--key", key_file, "--proof", proof]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert out.startswith(f"OK {ORIGIN} size 13 -> 40 is consistent")
    # Both are remembered: presenting the old one alone is now a rollback.
    code, _, err = run(["checkpoint", cp_old, "--key", key_file], capsys)
    assert code == 1 and "ROLLBACK" in err


def test_consistency_tampered_proof_is_a_fork(tmp_path: Path, key_file: Path, capsys) -> None:
    cp_old, cp_new, proof = consistency_setup(tmp_path, 13, 40)
    data = json.loads(proof.read_text())
    data["hashes"][0] = b64(bytes(32))
    proof.write_text(json.dumps(data))
    code, _, err = run(["consistency", cp_old, cp_new, "--key", key_file, "--proof", proof], capsys)
    assert code == 1
    assert "FORK" in err and "size 40" in err and "size 13" in err


def test_consistency_of_diverging_histories(tmp_path: Path, key_file: Path, capsys) -> None:
    """A log that rewrote entry 5 cannot prove that its new tree extends the old one."""
    leaves = make_leaves(40)
    honest = InMemoryTree(leaf_hash(x) for x in leaves[:13])
    rewritten = leaves[:5] + [b"rewritten"] + leaves[6:]
    forked = InMemoryTree(leaf_hash(x) for x in rewritten)
    cp_old = write_checkpoint(tmp_path / "old", honest, 13)
    cp_new = write_checkpoint(tmp_path / "new", forked, 40)
    proof = tmp_path / "proof.json"
    proof.write_text(
        json.dumps(ConsistencyProof(13, 40, tuple(forked.consistency_proof(13, 40))).to_dict())
    )
    code, _, err = run(["consistency", cp_old, cp_new, "--key", key_file, "--proof", proof], capsys)
    assert code == 1 and "FORK" in err and "implies old root" in err


def test_consistency_needs_a_proof(tmp_path: Path, key_file: Path, capsys) -> None:
    cp_old, cp_new, _ = consistency_setup(tmp_path, 13, 40)
    code, _, err = run(["consistency", cp_old, cp_new, "--key", key_file], capsys)
    assert code == 2 and "--proof is required" in err


def test_consistency_wrong_proof_sizes(tmp_path: Path, key_file: Path, capsys) -> None:
    cp_old, cp_new, proof = consistency_setup(tmp_path, 13, 40)
    data = json.loads(proof.read_text())
    data["first"] = 12
    proof.write_text(json.dumps(data))
    code, _, err = run(["consistency", cp_old, cp_new, "--key", key_file, "--proof", proof], capsys)
    assert code == 1 and "from size 12 to 40" in err


def test_consistency_equal_sizes(tmp_path: Path, key_file: Path, capsys) -> None:
    honest = InMemoryTree(leaf_hash(x) for x in make_leaves(8))
    forked = InMemoryTree(leaf_hash(x) for x in make_leaves(8, tag="other"))
    a = write_checkpoint(tmp_path / "a", honest, 8)
    a2 = write_checkpoint(tmp_path / "a2", honest, 8)
    b = write_checkpoint(tmp_path / "b", forked, 8)
    assert run(["consistency", a, a2, "--key", key_file, "--no-state"], capsys)[0] == 0
    code, _, err = run(["consistency", a, b, "--key", key_file, "--no-state"], capsys)
    assert code == 1 and "FORK" in err and "size 8" in err


def test_consistency_old_larger_than_new(tmp_path: Path, key_file: Path, capsys) -> None:
    cp_old, cp_new, proof = consistency_setup(tmp_path, 13, 40)
    code, _, err = run(["consistency", cp_new, cp_old, "--key", key_file, "--proof", proof], capsys)
    assert code == 1 and "ROLLBACK" in err


# --- export ------------------------------------------------------------------------------


def test_export_ok(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [0, 1, 7, 64, 90, 100])
    code, out, err = run(["export", export, "--key", key_file], capsys)
    assert code == 0, err
    assert out.startswith(f"OK export {ORIGIN}: 100 entries, 6 checkpoints verified up to size 100")
    assert "note: trusting" not in err


def test_export_ok_with_chain_and_uncovered_tail(tmp_path: Path, capsys) -> None:
    export = write_export(
        tmp_path / "export", make_leaves(50), [10, 40], chain=True, leaf_hashes=True
    )
    code, out, err = run(["export", export], capsys)
    assert code == 0, err
    assert "hash chain verified on 50 entries" in out
    assert "50 leaf hashes checked" in out
    assert "10 entries after size 40 are not yet covered" in out
    assert "trusting the export's own key.pub" in err


def test_export_altered_leaf(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [10, 50, 100])
    lines = read_lines(export)
    lines[42] = json.dumps({"index": 42, "leaf": b64(b"tampered")}) + "\n"
    write_lines(export, lines)
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "root mismatch at checkpoint 50" in err
    assert "index in [10, 50)" in err


def test_export_altered_leaf_named_by_chain(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [10, 50, 100], chain=True)
    lines = read_lines(export)
    entry = json.loads(lines[42])
    entry["leaf"] = b64(b"tampered")
    lines[42] = json.dumps(entry) + "\n"
    write_lines(export, lines)
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "root mismatch at checkpoint 50" in err
    assert "hash chain first breaks at entry index 42 (line 43)" in err


def test_export_altered_leaf_named_by_leaf_hash(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(30), [30], leaf_hashes=True)
    lines = read_lines(export)
    entry = json.loads(lines[17])
    entry["leaf"] = b64(b"tampered")
    lines[17] = json.dumps(entry) + "\n"
    write_lines(export, lines)
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "entry index 17 (line 18) does not match its recorded leaf_hash" in err


def test_export_removed_line(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [100])
    lines = read_lines(export)
    del lines[4]
    write_lines(export, lines)
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "entry at line 5 has index 5, expected 4" in err


def test_export_removed_and_renumbered(tmp_path: Path, key_file: Path, capsys) -> None:
    """Re-numbering hides the gap from the index check, but not from the chain."""
    export = write_export(tmp_path / "export", make_leaves(100), [60, 99], chain=True)
    lines = [json.loads(line) for line in read_lines(export)]
    del lines[20]
    for i, entry in enumerate(lines):
        entry["index"] = i
    write_lines(export, [json.dumps(e) + "\n" for e in lines])
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "root mismatch at checkpoint 60" in err
    assert "hash chain first breaks at entry index 20 (line 21)" in err


def test_export_swapped_lines(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [100])
    lines = read_lines(export)
    lines[30], lines[31] = lines[31], lines[30]
    write_lines(export, lines)
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "entry at line 31 has index 31, expected 30" in err


def test_export_swapped_and_renumbered(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [32, 64, 100])
    lines = [json.loads(line) for line in read_lines(export)]
    lines[70]["leaf"], lines[71]["leaf"] = lines[71]["leaf"], lines[70]["leaf"]
    write_lines(export, [json.dumps(e) + "\n" for e in lines])
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "root mismatch at checkpoint 100" in err and "index in [64, 100)" in err


def test_export_truncated(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [50, 100])
    write_lines(export, read_lines(export)[:90])
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "export has 90 entries but checkpoint 100 needs 100" in err


def test_export_bad_checkpoint_signature(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [50, 100])
    cp = export / "checkpoints" / "100"
    cp.write_text(cp.read_text().replace("\n100\n", "\n101\n"))
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert "checkpoint 100: invalid signature" in err


def test_export_checkpoint_under_wrong_name(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(100), [50])
    (export / "checkpoints" / "50").rename(export / "checkpoints" / "60")
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1 and "checkpoints/60 holds a checkpoint of size 50" in err


def test_export_substituted_key(tmp_path: Path, key_file: Path, capsys) -> None:
    export = write_export(tmp_path / "export", make_leaves(10), [10])
    (export / "key.pub").write_text(OTHER_VKEY + "\n")
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1 and "is not the trusted key" in err


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json\n", "entries.jsonl line 8 is not valid JSON"),
        ("\n", "entries.jsonl line 8 is empty"),
        ('{"index": 7, "leaf": "***"}\n', "line 8 (index 7): 'leaf' is not valid base64"),
        ('{"index": "7", "leaf": ""}\n', "line 8 has no integer 'index'"),
        ('{"index": 7}\n', "line 8 (index 7) has no base64 string 'leaf'"),
        ("[7]\n", "line 8 is not a JSON object"),
        ('{"index": 7, "leaf": "", "chain": "zz"}\n', "(index 7) 'chain' must be a 32-byte hash"),
    ],
)
def test_export_malformed_line(tmp_path: Path, key_file: Path, capsys, line, message) -> None:
    export = write_export(tmp_path / "export", make_leaves(20), [20])
    lines = read_lines(export)
    lines[7] = line
    write_lines(export, lines)
    code, _, err = run(["export", export, "--key", key_file], capsys)
    assert code == 1
    assert message in err


def test_export_rollback_and_fork_against_state(tmp_path: Path, key_file: Path, capsys) -> None:
    leaves = make_leaves(100)
    full = write_export(tmp_path / "full", leaves, [50, 100])
    assert run(["export", full, "--key", key_file], capsys)[0] == 0
    # The same history, cut back to 80 entries: a rollback.
    older = write_export(tmp_path / "older", leaves[:80], [50, 80])
    code, _, err = run(["export", older, "--key", key_file], capsys)
    assert code == 1
    assert "ROLLBACK" in err and "size 80" in err and "size 100" in err
    # A rewritten history that re-signs every checkpoint: the remembered size-50 root differs.
    forged = write_export(tmp_path / "forged", leaves[:30] + [b"x"] + leaves[31:], [50, 100])
    code, _, err = run(["export", forged, "--key", key_file], capsys)
    assert code == 1
    assert "FORK" in err and "size 50" in err


def test_export_fork_at_a_size_without_export_checkpoint(
    tmp_path: Path, key_file: Path, capsys
) -> None:
    leaves = make_leaves(60)
    tree = InMemoryTree(leaf_hash(x) for x in leaves)
    seen = write_checkpoint(tmp_path / "seen25", tree, 25)
    assert run(["checkpoint", seen, "--key", key_file], capsys)[0] == 0
    forged = write_export(tmp_path / "forged", leaves[:10] + [b"x"] + leaves[11:], [60])
    code, _, err = run(["export", forged, "--key", key_file], capsys)
    assert code == 1
    assert "FORK" in err and "root mismatch at checkpoint 25 seen before" in err


def test_export_missing_pieces(tmp_path: Path, capsys) -> None:
    code, _, err = run(["export", tmp_path / "nope"], capsys)
    assert code == 2 and "does not exist" in err
    export = write_export(tmp_path / "export", make_leaves(5), [5])
    (export / "key.pub").unlink()
    code, _, err = run(["export", export], capsys)
    assert code == 2 and "no key.pub" in err
    export2 = write_export(tmp_path / "export2", make_leaves(5), [])
    code, _, err = run(["export", export2], capsys)
    assert code == 1 and "no checkpoints" in err


# --- as a program ---------------------------------------------------------------------------


def _subprocess_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC_DIR, env.get("PYTHONPATH")]))
    env["CASELEDGER_VERIFY_STATE"] = str(tmp_path / "subprocess-state")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def test_python_m_caseledger_verify(tmp_path: Path, key_file: Path) -> None:
    export = write_export(tmp_path / "export", make_leaves(40), [20, 40], chain=True)
    cmd = [sys.executable, "-m", "caseledger_verify", "export", str(export), "--key", str(key_file)]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=_subprocess_env(tmp_path))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK export ")
    lines = read_lines(export)
    del lines[3]
    write_lines(export, lines)
    bad = subprocess.run(cmd, capture_output=True, text=True, env=_subprocess_env(tmp_path))
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "entry at line 4 has index 4, expected 3" in bad.stderr


def test_imports_no_django(tmp_path: Path) -> None:
    code = (
        "import sys, caseledger_verify.cli\n"
        "bad = [m for m in sys.modules if m.startswith('django') or m.startswith('caseledger.')]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_subprocess_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
