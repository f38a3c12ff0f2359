"""RFC 6962 / RFC 9162 section 2.1 Merkle tree hashing, proofs and proof verification.

Definitions (RFC 9162 2.1.1):

* ``MTH({}) = SHA-256()`` -- the hash of the empty string;
* ``MTH({d0}) = SHA-256(0x00 || d0)`` -- the leaf hash;
* ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` where ``k`` is the largest
  power of two strictly smaller than ``n``.

Everything here is pure standard library so that an auditor can check a ledger with no
database and no application code.  Proof *generation* takes a ``subtree_hash(start, end)``
callable for the range ``[start, end)`` so that a server which stores complete-subtree
hashes can answer proofs without recomputing the tree (see :func:`subtree_hash_from_nodes`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHAIN_SEED",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ConsistencyProof",
    "InMemoryTree",
    "InclusionProof",
    "ProofError",
    "TreeBuilder",
    "chain_hash",
    "consistency_proof",
    "consistency_proof_length",
    "consistency_proof_from_leaf_hashes",
    "inclusion_proof",
    "inclusion_proof_from_leaf_hashes",
    "inclusion_proof_length",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "subtree_hash_from_nodes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
#: The value before the first element of the linear audit chain (see :func:`chain_hash`).
CHAIN_SEED = bytes(HASH_SIZE)

_sha256 = hashlib.sha256
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

SubtreeHash = Callable[[int, int], bytes]
"""``subtree_hash(start, end)`` -> the Merkle tree hash of the leaves ``[start, end)``."""

NodeHash = Callable[[int, int], bytes]
"""``node(level, index)`` -> hash of the complete subtree over leaves
``[index << level, (index + 1) << level)``; level 0 is the leaf hashes."""


class ProofError(ValueError):
    """A Merkle proof (or its inputs) does not verify.  The message says exactly why."""


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)``."""
    return _sha256(_LEAF_PREFIX + bytes(leaf)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def chain_hash(prev: bytes, leaf_hash_: bytes) -> bytes:
    """One step of the linear audit chain: ``SHA-256(prev || leaf_hash)``.

    The chain starts from :data:`CHAIN_SEED` (32 zero bytes).  It is not part of RFC 6962;
    it only serves to name the *first* altered, removed or reordered entry of an export
    exactly, while the signed Merkle roots remain the authority.
    """
    return _sha256(prev + leaf_hash_).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _short(h: bytes) -> str:
    return h.hex()


# --------------------------------------------------------------------------------------
# Streaming root computation
# --------------------------------------------------------------------------------------


class TreeBuilder:
    """Streaming RFC 6962 root computation in O(log n) memory.

    The builder keeps one hash per set bit of the current size: the roots of the complete
    subtrees that make up the tree so far, largest (leftmost) first.  Appending merges the
    trailing complete subtrees, exactly like incrementing a binary counter, so ``n`` appends
    cost ``n - popcount(n)`` node hashes.  :meth:`root` folds the stack from the right, which
    is the RFC 6962 shape for a tree whose size is not a power of two, and may be called at
    any time (e.g. at every size that has a signed checkpoint).
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf *hash* (32 bytes, already ``SHA-256(0x00 || leaf)``)."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        stack = self._stack
        h = bytes(leaf_hash)
        n = self._size
        while n & 1:
            h = _sha256(_NODE_PREFIX + stack.pop() + h).digest()
            n >>= 1
        stack.append(h)
        self._size += 1

    def append_leaf(self, leaf: bytes) -> bytes:
        """Hash ``leaf`` as a leaf, append it, and return its leaf hash."""
        h = leaf_hash(leaf)
        self.append(h)
        return h

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes (the fast path for bulk verification)."""
        stack = self._stack
        push = stack.append
        pop = stack.pop
        sha = _sha256
        prefix = _NODE_PREFIX
        size = self._size
        try:
            for h in leaf_hashes:
                if len(h) != HASH_SIZE:
                    raise ValueError(
                        f"leaf hash at index {size} must be {HASH_SIZE} bytes, got {len(h)}"
                    )
                n = size
                while n & 1:
                    h = sha(prefix + pop() + h).digest()
                    n >>= 1
                push(h)
                size += 1
        finally:
            self._size = size

    def root(self) -> bytes:
        """The Merkle tree hash of everything appended so far (``EMPTY_ROOT`` if nothing)."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        h = stack[-1]
        for left in reversed(stack[:-1]):
            h = _sha256(_NODE_PREFIX + left + h).digest()
        return h


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """Merkle tree hash of a sequence (or any iterable) of leaf hashes, in one pass."""
    builder = TreeBuilder()
    builder.extend(hashes)
    return builder.root()


# --------------------------------------------------------------------------------------
# Serving proofs from stored complete subtrees
# --------------------------------------------------------------------------------------


def subtree_hash_from_nodes(start: int, end: int, node: NodeHash) -> bytes:
    """Hash of the leaves ``[start, end)`` from stored complete-subtree hashes.

    ``node(level, index)`` must return the hash of the complete subtree of ``2**level``
    leaves starting at leaf ``index << level`` (level 0 = leaf hashes).  Every range that
    :func:`inclusion_proof` and :func:`consistency_proof` ask for decomposes into at most
    ``log2(n)`` such aligned complete subtrees, so a server that stores each complete
    subtree once (when it fills up) can serve any proof with ``O(log^2 n)`` lookups.

    Raises ``ValueError`` for a range that is not a subtree of an RFC 6962 tree
    (i.e. whose binary decomposition is not aligned).
    """
    if not 0 <= start < end:
        if start == end == 0:
            return EMPTY_ROOT
        raise ValueError(f"invalid leaf range [{start}, {end})")
    chunks: list[bytes] = []
    pos = start
    remaining = end - start
    for level in range(remaining.bit_length() - 1, -1, -1):
        width = 1 << level
        if remaining & width:
            if pos & (width - 1):
                raise ValueError(
                    f"leaf range [{start}, {end}) is not an RFC 6962 subtree "
                    f"(chunk of {width} leaves at {pos} is not aligned)"
                )
            chunks.append(node(level, pos >> level))
            pos += width
    h = chunks[-1]
    for left in reversed(chunks[:-1]):
        h = node_hash(left, h)
    return h


class InMemoryTree:
    """A tree that keeps every complete-subtree hash in memory.

    Convenient for tests, small logs and tools; it is also the reference for how a
    database-backed log can store nodes: ``levels[l][i]`` is appended exactly once, when
    the complete subtree ``i`` of height ``l`` fills up, and never changes afterwards.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf_hash: bytes) -> None:
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash)}")
        levels = self.levels
        levels[0].append(bytes(leaf_hash))
        index = len(levels[0]) - 1
        level = 0
        while index & 1:
            parent = node_hash(levels[level][index - 1], levels[level][index])
            level += 1
            if len(levels) == level:
                levels.append([])
            levels[level].append(parent)
            index >>= 1

    def append_leaf(self, leaf: bytes) -> bytes:
        h = leaf_hash(leaf)
        self.append(h)
        return h

    def node(self, level: int, index: int) -> bytes:
        """Hash of the complete subtree of height ``level`` at position ``index``."""
        return self.levels[level][index]

    def subtree_hash(self, start: int, end: int) -> bytes:
        if end > self.size:
            raise ValueError(f"range [{start}, {end}) is beyond the tree size {self.size}")
        return subtree_hash_from_nodes(start, end, self.node)

    def root(self, size: int | None = None) -> bytes:
        """Root at ``size`` (default: the current size); any earlier size works."""
        size = self.size if size is None else size
        if size == 0:
            return EMPTY_ROOT
        return self.subtree_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.subtree_hash)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else new_size
        return consistency_proof(old_size, new_size, self.subtree_hash)


# --------------------------------------------------------------------------------------
# Proof generation (RFC 6962 2.1.1 PATH and 2.1.2 SUBPROOF, iteratively)
# --------------------------------------------------------------------------------------


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in the inclusion proof of leaf ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Number of hashes in the consistency proof between two tree sizes."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"invalid tree sizes {old_size} -> {new_size}")
    if old_size == 0 or old_size == new_size:
        return 0
    level = (old_size & -old_size).bit_length() - 1  # trailing zero bits
    index = (old_size - 1) >> level
    inner = (index ^ ((new_size - 1) >> level)).bit_length()
    border = (index >> inner).bit_count()
    return inner + border + (0 if index == 0 else 1)


def inclusion_proof(index: int, size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """Audit path ``PATH(index, D[size])`` (RFC 6962 2.1.1), leaf-to-root order.

    ``subtree_hash(start, end)`` must return ``MTH(D[start:end])``; it is called once per
    proof element with ranges that are RFC 6962 subtrees of the tree of ``size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        mid = start + k
        if index < mid:
            path.append(subtree_hash(mid, end))
            end = mid
        else:
            path.append(subtree_hash(start, mid))
            start = mid
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """Consistency proof ``PROOF(old_size, D[new_size])`` (RFC 6962 2.1.2 SUBPROOF)."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"invalid tree sizes {old_size} -> {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    proof: list[bytes] = []
    start, end = 0, new_size
    m = old_size  # relative to start
    whole = True  # the "b" flag: the subtree is the complete old tree
    while True:
        n = end - start
        if m == n:
            if not whole:
                proof.append(subtree_hash(start, end))
            break
        k = _split(n)
        if m <= k:
            proof.append(subtree_hash(start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k))
            start += k
            m -= k
            whole = False
    proof.reverse()
    return proof


def _memory_subtree(leaf_hashes: Sequence[bytes]) -> SubtreeHash:
    tree = InMemoryTree(leaf_hashes)
    return tree.subtree_hash


def inclusion_proof_from_leaf_hashes(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Inclusion proof for ``index`` in the tree made of all of ``leaf_hashes``."""
    return inclusion_proof(index, len(leaf_hashes), _memory_subtree(leaf_hashes))


def consistency_proof_from_leaf_hashes(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Consistency proof from ``old_size`` to the tree made of all of ``leaf_hashes``."""
    return consistency_proof(old_size, len(leaf_hashes), _memory_subtree(leaf_hashes))


# --------------------------------------------------------------------------------------
# Verification (RFC 9162 2.1.3.2 and 2.1.4.2)
# --------------------------------------------------------------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ProofError(f"{what} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _check_size(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"{what} must be a non-negative integer, got {value!r}")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 2.1.3.2 steps 1-5)."""
    _check_size(index, "leaf index")
    _check_size(size, "tree size")
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hash(leaf_hash, "leaf hash")
    expected = inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise ProofError(
            f"inclusion proof for leaf {index} in a tree of size {size} must have "
            f"{expected} hashes, got {len(proof)}"
        )
    for i, p in enumerate(proof):
        _check_hash(p, f"inclusion proof hash #{i}")
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:  # unreachable given the length check; kept as in the RFC
            raise ProofError("inclusion proof is too long")
        p = bytes(p)
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises :class:`ProofError` on any failure; returns ``None`` when the proof holds.
    """
    _check_hash(root, "root hash")
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if computed != bytes(root):
        raise ProofError(
            f"inclusion proof for leaf {index} in a tree of size {size} does not verify: "
            f"computed root {_short(computed)}, expected {_short(bytes(root))}"
        )


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    RFC 9162 2.1.4.2, plus the edge cases: ``old_size > new_size`` is an error;
    ``old_size == new_size`` needs an empty proof and equal roots; ``old_size == 0`` needs an
    empty proof and ``old_root`` equal to the empty-tree hash (any tree extends the empty
    tree).  Raises :class:`ProofError` on any failure.
    """
    _check_size(old_size, "old tree size")
    _check_size(new_size, "new tree size")
    _check_hash(old_root, "old root hash")
    _check_hash(new_root, "new root hash")
    old_root, new_root = bytes(old_root), bytes(new_root)
    if old_size > new_size:
        raise ProofError(
            f"old tree size {old_size} is larger than new tree size {new_size} "
            "(a log never shrinks)"
        )
    if old_size == new_size:
        if proof:
            raise ProofError(
                f"consistency proof between equal sizes {old_size} must be empty, "
                f"got {len(proof)} hashes"
            )
        if old_root != new_root:
            raise ProofError(
                f"two different roots for tree size {old_size}: "
                f"{_short(old_root)} and {_short(new_root)}"
            )
        return
    if old_size == 0:
        if proof:
            raise ProofError(
                f"consistency proof from the empty tree must be empty, got {len(proof)} hashes"
            )
        if old_root != EMPTY_ROOT:
            raise ProofError(
                f"root of the empty tree must be {_short(EMPTY_ROOT)}, got {_short(old_root)}"
            )
        return
    expected = consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof from size {old_size} to {new_size} must have {expected} "
            f"hashes, got {len(proof)}"
        )
    for i, p in enumerate(proof):
        _check_hash(p, f"consistency proof hash #{i}")
    path = [bytes(p) for p in proof]
    if old_size & (old_size - 1) == 0:  # exact power of two: the old root is a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # unreachable given the length check; kept as in the RFC
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root:
        raise ProofError(
            f"consistency proof from size {old_size} to {new_size} does not verify: "
            f"it implies old root {_short(fr)}, expected {_short(old_root)}"
        )
    if sr != new_root:
        raise ProofError(
            f"consistency proof from size {old_size} to {new_size} does not verify: "
            f"it implies new root {_short(sr)}, expected {_short(new_root)}"
        )


# --------------------------------------------------------------------------------------
# JSON wire format for proofs (what the caseledger-verify CLI reads)
# --------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ProofError(f"{what} must be a base64 string, got {type(value).__name__}")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ProofError(f"{what} is not valid base64: {exc}") from None
    return raw


def _json_int(data: Mapping[str, Any], key: str) -> int:
    if key not in data:
        raise ProofError(f"proof JSON lacks {key!r}")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"proof JSON {key!r} must be a non-negative integer, got {value!r}")
    return value


def _json_hashes(data: Mapping[str, Any]) -> list[bytes]:
    if "hashes" not in data:
        raise ProofError("proof JSON lacks 'hashes'")
    hashes = data["hashes"]
    if not isinstance(hashes, list):
        raise ProofError("proof JSON 'hashes' must be a list of base64 strings")
    out = []
    for i, item in enumerate(hashes):
        raw = _unb64(item, f"proof hash #{i}")
        if len(raw) != HASH_SIZE:
            raise ProofError(f"proof hash #{i} must be {HASH_SIZE} bytes, got {len(raw)}")
        out.append(raw)
    return out


@dataclass(frozen=True)
class InclusionProof:
    """``{"leaf_index": i, "tree_size": n, "leaf_hash": b64, "hashes": [b64, ...]}``.

    ``leaf`` (base64 of the leaf bytes) may be given instead of, or as well as,
    ``leaf_hash``; when both are present they must agree.
    """

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: tuple[bytes, ...]
    leaf: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": _b64(self.leaf_hash),
            "hashes": [_b64(h) for h in self.hashes],
        }
        if self.leaf is not None:
            out["leaf"] = _b64(self.leaf)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> InclusionProof:
        """Parse the JSON form; raises :class:`ProofError` on a malformed proof."""
        if not isinstance(data, Mapping):
            raise ProofError("inclusion proof JSON must be an object")
        index = _json_int(data, "leaf_index")
        size = _json_int(data, "tree_size")
        leaf = None
        lh = None
        if "leaf" in data:
            leaf = _unb64(data["leaf"], "'leaf'")
            lh = leaf_hash(leaf)
        if "leaf_hash" in data:
            given = _unb64(data["leaf_hash"], "'leaf_hash'")
            if len(given) != HASH_SIZE:
                raise ProofError(f"'leaf_hash' must be {HASH_SIZE} bytes, got {len(given)}")
            if lh is not None and given != lh:
                raise ProofError(
                    "'leaf_hash' does not match SHA-256(0x00 || leaf): "
                    f"given {given.hex()}, computed {lh.hex()}"
                )
            lh = given
        if lh is None:
            raise ProofError("inclusion proof JSON needs 'leaf_hash' or 'leaf'")
        return cls(index, size, lh, tuple(_json_hashes(data)), leaf)

    def verify(self, root: bytes) -> None:
        verify_inclusion(self.leaf_hash, self.leaf_index, self.tree_size, self.hashes, root)


@dataclass(frozen=True)
class ConsistencyProof:
    """``{"first": m, "second": n, "hashes": [b64, ...]}``."""

    first: int
    second: int
    hashes: tuple[bytes, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "second": self.second,
            "hashes": [_b64(h) for h in self.hashes],
        }

    @classmethod
    def from_dict(cls, data: Any) -> ConsistencyProof:
        if not isinstance(data, Mapping):
            raise ProofError("consistency proof JSON must be an object")
        return cls(_json_int(data, "first"), _json_int(data, "second"), tuple(_json_hashes(data)))

    def verify(self, old_root: bytes, new_root: bytes) -> None:
        verify_consistency(self.first, self.second, old_root, new_root, self.hashes)
