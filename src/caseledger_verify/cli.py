"""``caseledger-verify``: check a caseledger access ledger with no database.

Exit status: 0 when everything holds, 1 when verification failed (including ROLLBACK and
FORK), 2 for bad usage or unreadable input.  The one-line summary goes to stdout; every
problem is reported on stderr with the exact position (line, index, tree size) at fault.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import hashlib
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .merkle import (
    CHAIN_SEED,
    EMPTY_ROOT,
    HASH_SIZE,
    ConsistencyProof,
    InclusionProof,
    ProofError,
    TreeBuilder,
)
from .note import Checkpoint, NoteError, Verifier, parse_verifier_key, verify_note

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

MAX_FETCH_BYTES = 64 * 1024 * 1024
FETCH_TIMEOUT = 30
STATE_ENV = "CASELEDGER_VERIFY_STATE"
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
# entries.jsonl as the exporter writes it: {"index":N,"leaf":"BASE64","chain":"HEX"}, one line
# each. Lines in exactly this layout take a fast path; anything else is parsed as JSON.
_FAST_PREFIX = b'{"index":%d,"leaf":"'
_FAST_CHAIN = b'","chain":"'  # followed by 64 hex digits
_FAST_TAILS = (b'"}\n', b'"}')
_BATCH = 8192  # entries hashed together
_READ_HINT = 1 << 22  # bytes of lines read at a time


class UsageError(Exception):
    """Bad usage or unreadable input (exit status 2)."""


class VerificationFailed(Exception):
    """The ledger material does not verify (exit status 1)."""

    kind = "FAIL"


class Rollback(VerificationFailed):
    kind = "ROLLBACK"


class Fork(VerificationFailed):
    kind = "FORK"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------


def _is_url(location: str) -> bool:
    return urllib.parse.urlsplit(location).scheme in ("http", "https")


def read_input(location: str, what: str) -> bytes:
    """Bytes of a local file, or of an http(s) URL (size-capped, with a timeout)."""
    if _is_url(location):
        request = urllib.request.Request(  # noqa: S310 - scheme checked to be http(s)
            location, headers={"User-Agent": f"caseledger-verify/{__version__}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
                data = response.read(MAX_FETCH_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise UsageError(
                f"cannot fetch {what} {location}: HTTP {exc.code} {exc.reason}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UsageError(f"cannot fetch {what} {location}: {reason}") from None
        if len(data) > MAX_FETCH_BYTES:
            raise UsageError(f"{what} {location} is larger than {MAX_FETCH_BYTES} bytes")
        return data
    try:
        return Path(location).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {location}: {exc.strerror or exc}") from None


def read_json(location: str, what: str) -> Any:
    data = read_input(location, what)
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{what} {location} is not valid JSON: {exc}") from None


def load_key(location: str) -> Verifier:
    """A verifier key file: one key line; blank lines and ``#`` comments are ignored."""
    raw = read_input(location, "key file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"key file {location} is not UTF-8 text") from None
    lines = [ln.strip() for ln in text.splitlines()]
    keys = [ln for ln in lines if ln and not ln.startswith("#")]
    if len(keys) != 1:
        raise UsageError(
            f"key file {location} must hold exactly one verifier key, found {len(keys)}"
        )
    try:
        return parse_verifier_key(keys[0])
    except NoteError as exc:
        raise UsageError(f"key file {location}: {exc}") from None


def load_checkpoint(location: str, verifier: Verifier, what: str = "checkpoint") -> Checkpoint:
    data = read_input(location, what)
    try:
        return verify_note(data, verifier)
    except NoteError as exc:
        raise VerificationFailed(f"{what} {location}: {exc}") from None


class _EntryError(VerificationFailed):
    """A malformed line of entries.jsonl (internal)."""


def _entry_hash(value: Any, what: str) -> bytes:
    try:
        return _decode_hash(value, what)
    except VerificationFailed as exc:
        raise _EntryError(str(exc)) from None


def _decode_hash(value: Any, what: str) -> bytes:
    """A 32-byte hash given as 64 hex digits or as base64 (the lengths never collide)."""
    if isinstance(value, str):
        if len(value) == 2 * HASH_SIZE:
            try:
                return bytes.fromhex(value)
            except ValueError:
                pass
        else:
            try:
                raw = base64.b64decode(value.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError):
                raw = b""
            if len(raw) == HASH_SIZE:
                return raw
    raise VerificationFailed(f"{what} must be a 32-byte hash in hex or base64, got {value!r}")


# --------------------------------------------------------------------------------------
# Remembered checkpoints (rollback / fork detection)
# --------------------------------------------------------------------------------------


def default_state_dir() -> Path:
    env = os.environ.get(STATE_ENV)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "caseledger-verify"


class State:
    """Checkpoints seen before, one JSON file per (origin, verifier key).

    Only checkpoints from fully successful runs are remembered.  ``directory=None``
    disables everything (``--no-state``).
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def _path(self, origin: str, verifier: Verifier) -> Path:
        assert self.directory is not None
        digest = hashlib.sha256(f"{origin}\n{verifier}".encode()).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def seen(self, origin: str, verifier: Verifier) -> dict[int, bytes]:
        if self.directory is None:
            return {}
        path = self._path(origin, verifier)
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"state file {path} is unreadable ({exc}); inspect it, or use --no-state"
            ) from None
        try:
            return {int(size): base64.b64decode(root) for size, root in data["checkpoints"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"state file {path} is corrupt ({exc!r}); inspect it") from None

    def check(
        self, checkpoint: Checkpoint, verifier: Verifier, what: str, *, may_be_older: bool = False
    ) -> None:
        """Raise :class:`Fork` / :class:`Rollback` against what was seen before."""
        seen = self.seen(checkpoint.origin, verifier)
        if not seen:
            return
        earlier = seen.get(checkpoint.size)
        if earlier is not None and earlier != checkpoint.root:
            raise Fork(
                f"{what} for {checkpoint.origin} at size {checkpoint.size} has root "
                f"{checkpoint.root_b64}, but a checkpoint seen before for the same size has root "
                f"{_b64(earlier)}: the log is showing two different histories"
            )
        largest = max(seen)
        if not may_be_older and checkpoint.size < largest:
            raise Rollback(
                f"{what} for {checkpoint.origin} has size {checkpoint.size}, smaller than the "
                f"checkpoint of size {largest} (root {_b64(seen[largest])}) seen before"
            )

    def record(self, checkpoints: Iterable[Checkpoint], verifier: Verifier) -> None:
        if self.directory is None:
            return
        by_origin: dict[str, list[Checkpoint]] = {}
        for cp in checkpoints:
            by_origin.setdefault(cp.origin, []).append(cp)
        for origin, cps in by_origin.items():
            seen = self.seen(origin, verifier)
            for cp in cps:
                seen.setdefault(cp.size, cp.root)
            data = {
                "version": 1,
                "origin": origin,
                "key": str(verifier),
                "checkpoints": {str(s): _b64(seen[s]) for s in sorted(seen)},
            }
            path = self._path(origin, verifier)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, indent=1)
                    handle.write("\n")
                os.replace(tmp, path)
            except OSError as exc:
                raise UsageError(f"cannot write state file {path}: {exc}") from None


def _state(args: argparse.Namespace) -> State:
    if args.no_state:
        return State(None)
    return State(Path(args.state) if args.state else default_state_dir())


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


def cmd_checkpoint(args: argparse.Namespace) -> str:
    verifier = load_key(args.key)
    cp = load_checkpoint(args.file, verifier)
    state = _state(args)
    state.check(cp, verifier, f"checkpoint {args.file}")
    state.record([cp], verifier)
    ext = f" extensions={len(cp.extensions)}" if cp.extensions else ""
    return f"OK checkpoint origin={cp.origin} size={cp.size} root={cp.root_b64}{ext}"


def cmd_inclusion(args: argparse.Namespace) -> str:
    verifier = load_key(args.key)
    cp = load_checkpoint(args.checkpoint, verifier)
    state = _state(args)
    state.check(cp, verifier, f"checkpoint {args.checkpoint}")
    data = read_json(args.proof, "inclusion proof")
    try:
        proof = InclusionProof.from_dict(data)
    except ProofError as exc:
        raise UsageError(f"inclusion proof {args.proof} is malformed: {exc}") from None
    if args.leaf_hash is not None:
        wanted = _decode_hash(args.leaf_hash, "--leaf-hash")
        if wanted != proof.leaf_hash:
            raise VerificationFailed(
                f"inclusion proof {args.proof} is for leaf hash {proof.leaf_hash.hex()}, "
                f"not for the requested {wanted.hex()}"
            )
    if proof.tree_size != cp.size:
        raise VerificationFailed(
            f"inclusion proof {args.proof} is for tree size {proof.tree_size}, but checkpoint "
            f"{args.checkpoint} has size {cp.size}"
        )
    try:
        proof.verify(cp.root)
    except ProofError as exc:
        raise VerificationFailed(
            f"leaf {proof.leaf_index} is NOT proven to be in {cp.origin} at size {cp.size}: {exc}"
        ) from None
    state.record([cp], verifier)
    return (
        f"OK leaf {proof.leaf_index} (leaf hash {proof.leaf_hash.hex()}) is included in "
        f"{cp.origin} at size {cp.size} root={cp.root_b64}"
    )


def cmd_consistency(args: argparse.Namespace) -> str:
    verifier = load_key(args.key)
    old = load_checkpoint(args.old, verifier, "OLD checkpoint")
    new = load_checkpoint(args.new, verifier, "NEW checkpoint")
    if old.origin != new.origin:
        raise VerificationFailed(
            f"OLD checkpoint is for origin {old.origin!r} but NEW is for {new.origin!r}"
        )
    state = _state(args)
    state.check(old, verifier, f"OLD checkpoint {args.old}", may_be_older=True)
    state.check(new, verifier, f"NEW checkpoint {args.new}")
    if old.size > new.size:
        raise Rollback(
            f"NEW checkpoint {args.new} has size {new.size}, smaller than OLD checkpoint "
            f"{args.old} of size {old.size}"
        )
    proof: ConsistencyProof | None = None
    if args.proof is not None:
        data = read_json(args.proof, "consistency proof")
        try:
            proof = ConsistencyProof.from_dict(data)
        except ProofError as exc:
            raise UsageError(f"consistency proof {args.proof} is malformed: {exc}") from None
        if (proof.first, proof.second) != (old.size, new.size):
            raise VerificationFailed(
                f"consistency proof {args.proof} is from size {proof.first} to {proof.second}, "
                f"but the checkpoints have sizes {old.size} and {new.size}"
            )
    if old.size == new.size:
        if old.root != new.root:
            raise Fork(
                f"two checkpoints for {old.origin} at size {old.size} have different roots "
                f"({old.root_b64} and {new.root_b64})"
            )
        hashes: Sequence[bytes] = proof.hashes if proof is not None else ()
    else:
        if proof is None:
            raise UsageError(
                f"--proof is required: the checkpoints have different sizes "
                f"({old.size} and {new.size})"
            )
        hashes = proof.hashes
    try:
        ConsistencyProof(old.size, new.size, tuple(hashes)).verify(old.root, new.root)
    except ProofError as exc:
        raise Fork(
            f"checkpoint of size {new.size} is NOT proven to extend checkpoint of size "
            f"{old.size} for {old.origin}: {exc}"
        ) from None
    state.record([old, new], verifier)
    return (
        f"OK {old.origin} size {old.size} -> {new.size} is consistent "
        f"(root {old.root_b64} -> {new.root_b64})"
    )


@dataclass
class ExportReport:
    entries: int
    checkpoints: list[Checkpoint]
    chained: int
    leaf_hashes_checked: int


@dataclass
class _Target:
    root: bytes
    label: str
    from_state: bool


def _export_checkpoints(directory: Path, verifier: Verifier) -> list[Checkpoint]:
    cp_dir = directory / "checkpoints"
    if not cp_dir.is_dir():
        raise VerificationFailed(f"export {directory} has no checkpoints/ directory")
    checkpoints: list[Checkpoint] = []
    names = sorted(
        (p for p in cp_dir.iterdir() if not p.name.startswith(".")),
        key=lambda p: (len(p.name), p.name),
    )
    for path in names:
        if not _SIZE_RE.fullmatch(path.name):
            raise VerificationFailed(
                f"checkpoints/{path.name}: file name must be the tree size (a decimal number)"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read checkpoints/{path.name}: {exc.strerror}") from None
        try:
            cp = verify_note(data, verifier)
        except NoteError as exc:
            raise VerificationFailed(f"checkpoint {path.name}: {exc}") from None
        if str(cp.size) != path.name:
            raise VerificationFailed(
                f"checkpoints/{path.name} holds a checkpoint of size {cp.size}"
            )
        checkpoints.append(cp)
    if not checkpoints:
        raise VerificationFailed(f"export {directory} has no checkpoints: nothing is signed")
    return checkpoints


def verify_export(directory: Path, verifier: Verifier, state: State) -> ExportReport:
    """Recompute the tree of ``entries.jsonl`` in one pass and check every checkpoint.

    Raises :class:`VerificationFailed` (or :class:`Fork` / :class:`Rollback`) naming the
    first position at fault, :class:`UsageError` if the export cannot be read.
    """
    entries_path = directory / "entries.jsonl"
    checkpoints = _export_checkpoints(directory, verifier)
    origin = checkpoints[0].origin  # verify_note checked origin == key name for all
    seen = state.seen(origin, verifier)
    for cp in checkpoints:
        state.check(cp, verifier, f"checkpoint {cp.size}", may_be_older=True)

    targets: dict[int, _Target] = {
        size: _Target(root, f"checkpoint {size} seen before", True) for size, root in seen.items()
    }
    for cp in checkpoints:
        targets[cp.size] = _Target(cp.root, f"checkpoint {cp.size}", False)

    def check_root(size: int, computed: bytes, last_good: int) -> None:
        target = targets[size]
        if computed == target.root:
            return
        where = (
            f"the entries up to size {last_good} match the checkpoints, so the first altered "
            f"entry has an index in [{last_good}, {size})"
            if last_good
            else f"the first altered entry has an index below {size}"
        )
        located = ""
        if first_bad is not None:
            located = f"; {first_bad}"
        message = (
            f"root mismatch at {target.label}: entries 0..{size - 1} hash to {_b64(computed)} "
            f"but the checkpoint signs {_b64(target.root)}; {where}{located}"
        )
        raise (Fork if target.from_state else VerificationFailed)(message)

    first_bad: str | None = None
    last_good = 0
    if 0 in targets:
        check_root(0, EMPTY_ROOT, 0)
    builder = TreeBuilder()
    chain = CHAIN_SEED
    chained = 0
    leaf_hashes_checked = 0
    expected = 0
    sha256 = hashlib.sha256
    stops = sorted(size for size in targets if size > 0)

    # Lines in the exporter's exact layout (`_FAST_PREFIX` % index, base64 leaf, hex chain, no
    # spaces) are only sliced here and hashed in batches by `flush`; any other line, and any
    # line whose pieces do not decode strictly, goes through `slow_line`, the general JSON
    # path that names every problem. Both give the same result for the same line.
    batch_leaves: list[bytes] = []
    batch_chains: list[bytes] = []
    batch_start = 0  # index of the first entry in the batch
    limit = 0  # flush when `expected` reaches it: the next checkpoint size or a full batch

    def next_limit() -> int:
        following = bisect.bisect_right(stops, expected)
        if following < len(stops):
            return min(stops[following], expected + _BATCH)
        return expected + _BATCH

    def flush() -> None:
        nonlocal chain, chained, first_bad, last_good, batch_start, limit
        if batch_leaves:
            prefix = b"\x00"
            hashes = [sha256(prefix + leaf).digest() for leaf in batch_leaves]
            chains = []
            add = chains.append
            current = chain
            for lh in hashes:
                current = sha256(current + lh).digest()
                add(current)
            if first_bad is None and chains != batch_chains:
                pairs = zip(chains, batch_chains, strict=True)
                index = batch_start + next(i for i, (a, b) in enumerate(pairs) if a != b)
                first_bad = (
                    f"the hash chain first breaks at entry index {index} (line {index + 1}): "
                    "this is the first altered, removed, inserted or reordered entry"
                )
            chain = current
            chained += len(hashes)
            builder.extend(hashes)
            batch_leaves.clear()
            batch_chains.clear()
        batch_start = expected
        if expected in targets and expected != last_good:
            check_root(expected, builder.root(), last_good)
            last_good = expected
        limit = next_limit()

    def slow_line(lineno: int, raw: bytes) -> None:
        nonlocal chain, chained, first_bad, last_good, leaf_hashes_checked, expected
        where = f"entries.jsonl line {lineno}"
        if not raw.strip():
            raise _EntryError(f"{where} is empty (expected index {expected})")
        try:
            obj = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise _EntryError(
                f"{where} is not valid JSON ({exc}); expected the entry with index {expected}"
            ) from None
        if not isinstance(obj, dict):
            raise _EntryError(f"{where} is not a JSON object")
        index = obj.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise _EntryError(f"{where} has no integer 'index' (expected {expected})")
        if index != expected:
            if index == expected + 1:
                hint = f"entry {expected} is missing or out of order"
            elif index > expected:
                hint = f"entries {expected}..{index - 1} are missing or out of order"
            else:
                hint = "duplicated or out-of-order entry"
            raise _EntryError(
                f"entry at line {lineno} has index {index}, expected {expected} ({hint})"
            )
        leaf_b64 = obj.get("leaf")
        if not isinstance(leaf_b64, str):
            raise _EntryError(f"{where} (index {index}) has no base64 string 'leaf'")
        try:
            leaf = base64.b64decode(leaf_b64.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise _EntryError(f"{where} (index {index}): 'leaf' is not valid base64") from None
        lh = sha256(b"\x00" + leaf).digest()
        if "leaf_hash" in obj:
            given = _entry_hash(obj["leaf_hash"], f"{where} (index {index}) 'leaf_hash'")
            leaf_hashes_checked += 1
            if given != lh and first_bad is None:
                first_bad = (
                    f"entry index {index} (line {lineno}) does not match its recorded "
                    "leaf_hash: it is the first altered entry"
                )
        chain = sha256(chain + lh).digest()
        if "chain" in obj:
            given = _entry_hash(obj["chain"], f"{where} (index {index}) 'chain'")
            chained += 1
            if given != chain and first_bad is None:
                first_bad = (
                    f"the hash chain first breaks at entry index {index} (line {lineno}): "
                    "this is the first altered, removed, inserted or reordered entry"
                )
        builder.append(lh)
        expected += 1

    try:
        handle = entries_path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read {entries_path}: {exc.strerror}") from None
    a2b = binascii.a2b_base64
    unhex = binascii.unhexlify
    fast_prefix = _FAST_PREFIX
    separator = _FAST_CHAIN
    tails = _FAST_TAILS
    hex_at = len(_FAST_CHAIN)  # the chain's hex digits follow the separator
    hex_end = hex_at + 2 * HASH_SIZE
    add_leaf = batch_leaves.append
    add_chain = batch_chains.append
    limit = next_limit()
    try:
        with handle:
            while True:
                lines = handle.readlines(_READ_HINT)
                if not lines:
                    break
                for raw in lines:
                    head = fast_prefix % expected
                    if raw.startswith(head):
                        start = len(head)
                        sep = raw.find(separator, start)
                        if sep > 0 and raw[sep + hex_end :] in tails:
                            try:
                                leaf = a2b(raw[start:sep], strict_mode=True)
                                given = unhex(raw[sep + hex_at : sep + hex_end])
                            except binascii.Error:
                                pass
                            else:
                                add_leaf(leaf)
                                add_chain(given)
                                expected += 1
                                if expected == limit:
                                    flush()
                                continue
                    flush()
                    slow_line(expected + 1, raw)
                    flush()
            flush()
    except _EntryError as exc:
        # Name the earliest problem first: a broken chain/leaf_hash seen before it.
        raise VerificationFailed(f"{first_bad}; then: {exc}" if first_bad else str(exc)) from None
    total = expected
    missing = [cp.size for cp in checkpoints if cp.size > total]
    if missing:
        truncated = (
            f"export has {total} entries but checkpoint {missing[0]} needs {missing[0]} "
            "(the export is truncated)"
        )
        raise VerificationFailed(f"{first_bad}; then: {truncated}" if first_bad else truncated)
    if first_bad is not None:
        raise VerificationFailed(first_bad)
    largest = checkpoints[-1]
    if seen and max(seen) > largest.size:
        raise Rollback(
            f"export's latest checkpoint has size {largest.size}, but a checkpoint of size "
            f"{max(seen)} for {origin} was seen before"
        )
    return ExportReport(total, checkpoints, chained, leaf_hashes_checked)


def cmd_export(args: argparse.Namespace) -> str:
    directory = Path(args.dir)
    if not directory.is_dir():
        raise UsageError(f"export directory {directory} does not exist")
    if not (directory / "entries.jsonl").is_file():
        raise UsageError(f"export directory {directory} has no entries.jsonl")
    key_pub = directory / "key.pub"
    if args.key is not None:
        verifier = load_key(args.key)
        if key_pub.exists():
            shipped = load_key(str(key_pub))
            if shipped != verifier:
                raise VerificationFailed(
                    f"the export's key.pub ({shipped.key_id}) is not the trusted key "
                    f"{verifier.key_id} given with --key"
                )
    else:
        if not key_pub.is_file():
            raise UsageError(f"export directory {directory} has no key.pub; pass --key")
        verifier = load_key(str(key_pub))
        print(
            "caseledger-verify: note: trusting the export's own key.pub; pass --key with a "
            "verifier key obtained independently to rule out a substituted key",
            file=sys.stderr,
        )
    state = _state(args)
    report = verify_export(directory, verifier, state)
    state.record(report.checkpoints, verifier)
    latest = report.checkpoints[-1]
    extra = ""
    if report.chained:
        extra += f", hash chain verified on {report.chained} entries"
    if report.leaf_hashes_checked:
        extra += f", {report.leaf_hashes_checked} leaf hashes checked"
    uncovered = report.entries - latest.size
    if uncovered:
        extra += (
            f"; {uncovered} entries after size {latest.size} are not yet covered by a checkpoint"
        )
    return (
        f"OK export {latest.origin}: {report.entries} entries, {len(report.checkpoints)} "
        f"checkpoints verified up to size {latest.size} root={latest.root_b64}{extra}"
    )


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_mutually_exclusive_group()
    group.add_argument(
        "--state",
        metavar="DIR",
        help=f"where seen checkpoints are remembered (default: ${STATE_ENV} or "
        "~/.local/state/caseledger-verify)",
    )
    group.add_argument(
        "--no-state", action="store_true", help="do not remember checkpoints or check rollback/fork"
    )

    parser = argparse.ArgumentParser(
        prog="caseledger-verify",
        description="Verify caseledger checkpoints, proofs and exports (RFC 6962 + C2SP notes).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("checkpoint", parents=[common], help="verify a signed checkpoint")
    p.add_argument("file", metavar="FILE", help="checkpoint note (file or http(s) URL)")
    p.add_argument("--key", required=True, metavar="KEYFILE", help="file with the verifier key")
    p.set_defaults(func=cmd_checkpoint)

    p = sub.add_parser("inclusion", parents=[common], help="verify an inclusion proof")
    p.add_argument("proof", metavar="PROOF", help="proof JSON (file or http(s) URL)")
    p.add_argument("--checkpoint", required=True, metavar="FILE", help="signed checkpoint")
    p.add_argument("--key", required=True, metavar="KEYFILE", help="file with the verifier key")
    p.add_argument(
        "--leaf-hash", metavar="HASH", help="require the proof to be for this leaf hash (hex/b64)"
    )
    p.set_defaults(func=cmd_inclusion)

    p = sub.add_parser("consistency", parents=[common], help="verify that NEW extends OLD")
    p.add_argument("old", metavar="OLD", help="older signed checkpoint")
    p.add_argument("new", metavar="NEW", help="newer signed checkpoint")
    p.add_argument("--key", required=True, metavar="KEYFILE", help="file with the verifier key")
    p.add_argument(
        "--proof", metavar="FILE_OR_URL", help="consistency proof JSON (needed if sizes differ)"
    )
    p.set_defaults(func=cmd_consistency)

    p = sub.add_parser("export", parents=[common], help="recompute and check a full export")
    p.add_argument("dir", metavar="DIR", help="export directory (entries.jsonl, checkpoints/)")
    p.add_argument(
        "--key", metavar="KEYFILE", help="trusted verifier key (default: the export's key.pub)"
    )
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 verification failed, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        summary = args.func(args)
    except UsageError as exc:
        print(f"caseledger-verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except VerificationFailed as exc:
        print(f"caseledger-verify: {exc.kind}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(summary)
    return EXIT_OK
