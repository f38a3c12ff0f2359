"""The Merkle tree over the log's entries, served from stored complete subtrees.

The hashing and proof algorithms are those of the auditor's package `caseledger_verify`
(standard library only), so the server and the auditor run the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from caseledger_verify import merkle

from .models import Entry, Node


class NodeStore:
    """Looks up complete-subtree hashes: level 0 from entries, higher levels from nodes.

    A lookup pass first records which (level, index) pairs a computation needs, then fetches
    them in two queries, so a proof costs a constant number of round trips.
    """

    def __init__(self, pending: dict[tuple[int, int], bytes] | None = None) -> None:
        self.cache: dict[tuple[int, int], bytes] = dict(pending or {})

    def prefetch(self, keys: Iterable[tuple[int, int]]) -> None:
        missing = {k for k in keys if k not in self.cache}
        leaves = [i for level, i in missing if level == 0]
        if leaves:
            for position, digest in Entry.objects.filter(position__in=leaves).values_list(
                    "position", "leaf_hash"):
                self.cache[(0, position)] = bytes(digest)
        inner = [k for k in missing if k[0] > 0]
        if inner:  # one (level, index) IN (...) lookup on the composite primary key
            for level, index, digest in Node.objects.filter(pk__in=inner).values_list(
                    "level", "index", "hash"):
                self.cache[(level, index)] = bytes(digest)

    def node(self, level: int, index: int) -> bytes:
        try:
            return self.cache[(level, index)]
        except KeyError:
            raise LookupError(f"tree node {level}/{index} is not stored") from None

    def needed(self, ranges: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        keys: set[tuple[int, int]] = set()

        def record(level: int, index: int) -> bytes:
            keys.add((level, index))
            return merkle.EMPTY_ROOT

        for start, end in ranges:
            merkle.subtree_hash_from_nodes(start, end, record)
        return keys

    def subtree_hash(self, start: int, end: int) -> bytes:
        self.prefetch(self.needed([(start, end)]))
        return merkle.subtree_hash_from_nodes(start, end, self.node)


def root_at(size: int, store: NodeStore | None = None) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    return (store or NodeStore()).subtree_hash(0, size)


def _served(generate: Callable[..., list[bytes]], *args: int) -> list[bytes]:
    """Run a proof generator twice: once to learn which ranges it needs (proof generation
    never branches on hash values), then with those nodes fetched in one go."""
    ranges: list[tuple[int, int]] = []

    def record(start: int, end: int) -> bytes:
        ranges.append((start, end))
        return merkle.EMPTY_ROOT

    generate(*args, record)
    store = NodeStore()
    store.prefetch(store.needed(ranges))
    return generate(*args, lambda s, e: merkle.subtree_hash_from_nodes(s, e, store.node))


def inclusion_proof(index: int, size: int) -> list[bytes]:
    return _served(merkle.inclusion_proof, index, size)


def consistency_proof(old_size: int, new_size: int) -> list[bytes]:
    return _served(merkle.consistency_proof, old_size, new_size)


def completed_nodes(first_position: int, leaf_hashes: Sequence[bytes],
                    store: NodeStore) -> list[tuple[int, int, bytes]]:
    """The subtree nodes that fill up when `leaf_hashes` are appended at `first_position`, as
    (level, index, hash) rows for `ledger_node` (written in bulk by the integrator)."""
    created: list[tuple[int, int, bytes]] = []
    for offset, digest in enumerate(leaf_hashes):
        index = first_position + offset
        store.cache[(0, index)] = digest
        level, current = 0, digest
        while index % 2 == 1:
            left_key = (level, index - 1)
            if left_key not in store.cache:
                store.prefetch([left_key])
            current = merkle.node_hash(store.node(*left_key), current)
            level, index = level + 1, index // 2
            store.cache[(level, index)] = current
            created.append((level, index, current))
    return created
