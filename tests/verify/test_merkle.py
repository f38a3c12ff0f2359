"""RFC 6962 Merkle tree: published test vectors, a literal reference implementation and
property tests.

The known-answer vectors are the reference tree of the Certificate Transparency
implementation (google/certificate-transparency ``cpp/merkletree/merkle_tree_test.cc``),
also used by ``transparency-dev/merkle`` (``proof/verify_test.go``, ``rfc6962_test.go``).
The C++ test numbers leaves from 1; the indices below are 0-based.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caseledger_verify.merkle import (
    CHAIN_SEED,
    EMPTY_ROOT,
    ConsistencyProof,
    InclusionProof,
    InMemoryTree,
    ProofError,
    TreeBuilder,
    chain_hash,
    consistency_proof,
    consistency_proof_from_leaf_hashes,
    consistency_proof_length,
    inclusion_proof,
    inclusion_proof_from_leaf_hashes,
    inclusion_proof_length,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    subtree_hash_from_nodes,
    verify_consistency,
    verify_inclusion,
)

H = bytes.fromhex

# --- Known answers --------------------------------------------------------------------

EMPTY_TREE_HASH = H("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

LEAVES = [
    H(""),
    H("00"),
    H("10"),
    H("2021"),
    H("3031"),
    H("40414243"),
    H("5051525354555657"),
    H("606162636465666768696a6b6c6d6e6f"),
]

# ROOTS[i] is the root of the tree made of LEAVES[: i + 1].
ROOTS = [
    H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    H("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    H("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    H("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    H("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    H("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# (leaf index, tree size, audit path)
INCLUSION_PROOFS = [
    (0, 1, []),
    (
        0,
        8,
        [
            H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
]

# (old size, new size, consistency proof)
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (
        1,
        8,
        [
            H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]

SOME_HASH = H("abacaba000000000000000000000000000000000000000000060061e00123456")
LEAF_HASHES = [leaf_hash(leaf) for leaf in LEAVES]


# --- A literal transcription of RFC 6962 section 2.1, for cross-checking -----------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    if m == 0 or m == len(d):
        return []
    return ref_subproof(m, d, True)


def flip(data: bytes, pos: int, mask: int = 0x01) -> bytes:
    return data[:pos] + bytes([data[pos] ^ mask]) + data[pos + 1 :]


# --- Hashing ----------------------------------------------------------------------------


def test_hasher_known_answers() -> None:
    assert EMPTY_ROOT == EMPTY_TREE_HASH
    assert root_from_leaf_hashes([]) == EMPTY_TREE_HASH
    # The empty leaf is not the empty tree.
    assert leaf_hash(b"") == H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == H(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456") == H(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_domain_separation() -> None:
    a, b = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert a != b
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) != node_hash(b, a)


def test_chain_hash() -> None:
    assert bytes(32) == CHAIN_SEED
    first = chain_hash(CHAIN_SEED, LEAF_HASHES[0])
    assert first == hashlib.sha256(bytes(32) + LEAF_HASHES[0]).digest()
    assert chain_hash(first, LEAF_HASHES[1]) != chain_hash(first, LEAF_HASHES[2])


@pytest.mark.parametrize("size", range(1, 9))
def test_published_roots(size: int) -> None:
    expected = ROOTS[size - 1]
    assert root_from_leaf_hashes(LEAF_HASHES[:size]) == expected
    assert ref_mth(LEAVES[:size]) == expected
    tree = InMemoryTree(LEAF_HASHES)
    assert tree.root(size) == expected


def test_tree_builder_incremental_matches_published_roots() -> None:
    builder = TreeBuilder()
    assert builder.size == 0
    assert builder.root() == EMPTY_TREE_HASH
    for i, leaf in enumerate(LEAVES):
        builder.append_leaf(leaf)
        assert builder.size == i + 1
        assert builder.root() == ROOTS[i]
    assert builder.root() == ROOTS[7]  # root() does not consume the state


def test_tree_builder_matches_reference_for_many_sizes() -> None:
    leaves = [i.to_bytes(2, "big") for i in range(300)]
    builder = TreeBuilder()
    for i, leaf in enumerate(leaves):
        builder.append(leaf_hash(leaf))
        if i < 70 or i % 37 == 0 or i == len(leaves) - 1:
            assert builder.root() == ref_mth(leaves[: i + 1]), i + 1
    bulk = TreeBuilder()
    bulk.extend(leaf_hash(leaf) for leaf in leaves)
    assert bulk.size == 300
    assert bulk.root() == builder.root()


def test_tree_builder_rejects_bad_hash_length() -> None:
    builder = TreeBuilder()
    with pytest.raises(ValueError, match="32 bytes"):
        builder.append(b"short")
    with pytest.raises(ValueError, match="index 1"):
        builder.extend([LEAF_HASHES[0], b"x" * 31])
    assert builder.size == 1  # the good hash was kept, the bad one was not


# --- Proof generation against the published vectors -----------------------------------


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_PROOFS)
def test_published_inclusion_proofs(index: int, size: int, path: list[bytes]) -> None:
    tree = InMemoryTree(LEAF_HASHES)
    assert tree.inclusion_proof(index, size) == path
    assert inclusion_proof_from_leaf_hashes(index, LEAF_HASHES[:size]) == path
    assert ref_path(index, LEAVES[:size]) == path
    assert inclusion_proof_length(index, size) == len(path)
    verify_inclusion(LEAF_HASHES[index], index, size, path, ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_PROOFS)
def test_published_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    tree = InMemoryTree(LEAF_HASHES)
    assert tree.consistency_proof(old, new) == proof
    assert consistency_proof_from_leaf_hashes(old, LEAF_HASHES[:new]) == proof
    assert ref_proof(old, LEAVES[:new]) == proof
    assert consistency_proof_length(old, new) == len(proof)
    verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


def test_proofs_from_a_subtree_callable_only() -> None:
    """A server needs nothing but subtree hashes; record which ranges it is asked for."""
    asked: list[tuple[int, int]] = []

    def subtree(start: int, end: int) -> bytes:
        asked.append((start, end))
        return ref_mth(LEAVES[start:end])

    assert inclusion_proof(5, 8, subtree) == INCLUSION_PROOFS[2][2]
    assert asked == [(0, 4), (6, 8), (4, 5)]
    asked.clear()
    assert consistency_proof(6, 8, subtree) == CONSISTENCY_PROOFS[2][2]
    assert asked == [(0, 4), (6, 8), (4, 6)]


def test_subtree_hash_from_nodes_uses_complete_subtrees() -> None:
    tree = InMemoryTree(LEAF_HASHES)
    lookups: list[tuple[int, int]] = []

    def node(level: int, index: int) -> bytes:
        lookups.append((level, index))
        return tree.node(level, index)

    assert subtree_hash_from_nodes(0, 7, node) == ROOTS[6]
    assert lookups == [(2, 0), (1, 2), (0, 6)]
    assert subtree_hash_from_nodes(0, 0, node) == EMPTY_TREE_HASH
    with pytest.raises(ValueError, match="not aligned"):
        subtree_hash_from_nodes(1, 3, node)
    with pytest.raises(ValueError, match="invalid leaf range"):
        subtree_hash_from_nodes(3, 2, node)


def test_proof_generation_rejects_bad_arguments() -> None:
    tree = InMemoryTree(LEAF_HASHES)
    with pytest.raises(ValueError, match="not in a tree of size 8"):
        tree.inclusion_proof(8)
    with pytest.raises(ValueError, match="beyond the tree size"):
        tree.inclusion_proof(0, 9)
    with pytest.raises(ValueError, match="invalid tree sizes"):
        tree.consistency_proof(5, 4)
    assert tree.consistency_proof(0, 8) == []
    assert tree.consistency_proof(8) == []


# --- Verification: the corruption probes of the reference test suites --------------------


def _inclusion_probes(index: int, size: int, proof: list[bytes], root: bytes, lh: bytes):
    probes = [
        ("index - 1", index - 1, size, root, lh, proof),
        ("index + 1", index + 1, size, root, lh, proof),
        ("index ^ 2", index ^ 2, size, root, lh, proof),
        ("size * 2", index, size * 2, root, lh, proof),
        ("size // 2", index, size // 2, root, lh, proof),
        ("wrong leaf", index, size, root, leaf_hash(b"WrongLeaf"), proof),
        ("empty root", index, size, EMPTY_TREE_HASH, lh, proof),
        ("random root", index, size, SOME_HASH, lh, proof),
        ("trailing garbage", index, size, root, lh, [*proof, b""]),
        ("trailing root", index, size, root, lh, [*proof, root]),
        ("preceding garbage", index, size, root, lh, [b"", *proof]),
        ("preceding root", index, size, root, lh, [root, *proof]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 8)
        probes.append((f"modified proof[{i}]", index, size, root, lh, wrong))
    if proof:
        probes.append(("removed component", index, size, root, lh, proof[:-1]))
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes.append(("inserted component", index, size, root, lh, inserted))
    return probes


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_PROOFS)
def test_corrupted_inclusion_proofs_fail(index: int, size: int, path: list[bytes]) -> None:
    root = ROOTS[size - 1]
    assert root_from_inclusion_proof(LEAF_HASHES[index], index, size, path) == root
    for desc, i, n, r, lh, p in _inclusion_probes(index, size, path, root, LEAF_HASHES[index]):
        if i == index and n == size and r == root and lh == LEAF_HASHES[index] and p == path:
            continue  # e.g. index ^ 2 == index is impossible, but stay safe
        with pytest.raises(ProofError):
            verify_inclusion(lh, i, n, p, r)
            pytest.fail(f"corrupted inclusion proof verified: {desc}")


def test_inclusion_error_messages_are_precise() -> None:
    index, size, path = INCLUSION_PROOFS[2]
    with pytest.raises(ProofError, match="must have 3 hashes, got 2"):
        verify_inclusion(LEAF_HASHES[index], index, size, path[:2], ROOTS[7])
    with pytest.raises(ProofError, match="computed root .* expected " + ROOTS[6].hex()):
        verify_inclusion(LEAF_HASHES[index], index, size, path, ROOTS[6])
    with pytest.raises(ProofError, match="leaf index 8 is not in a tree of size 8"):
        verify_inclusion(LEAF_HASHES[0], 8, 8, [], ROOTS[7])
    with pytest.raises(ProofError, match="inclusion proof hash #1 must be 32 bytes, got 31"):
        bad = [path[0], path[1][:31], path[2]]
        verify_inclusion(LEAF_HASHES[index], index, size, bad, ROOTS[7])
    with pytest.raises(ProofError, match="root hash must be 32 bytes"):
        verify_inclusion(LEAF_HASHES[index], index, size, path, b"")
    with pytest.raises(ProofError, match="non-negative integer"):
        verify_inclusion(LEAF_HASHES[index], -1, size, path, ROOTS[7])


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_degenerate_inputs_fail(index: int, size: int) -> None:
    for lh, root in [(SOME_HASH, b""), (b"", EMPTY_TREE_HASH), (SOME_HASH, EMPTY_TREE_HASH)]:
        with pytest.raises(ProofError):
            verify_inclusion(lh, index, size, [], root)


def test_inclusion_single_entry() -> None:
    h = leaf_hash(b"data")
    verify_inclusion(h, 0, 1, [], h)  # the root of a 1-leaf tree is its leaf hash
    for lh, root in [(h, b""), (b"", h), (b"", b"")]:
        with pytest.raises(ProofError):
            verify_inclusion(lh, 0, 1, [], root)
    with pytest.raises(ProofError):
        verify_inclusion(h, 0, 1, [], SOME_HASH)


def _consistency_probes(old: int, new: int, r1: bytes, r2: bytes, proof: list[bytes]):
    wrong_root = hashlib.sha256(b"WrongRoot").digest()
    probes = [
        ("old - 1", old - 1, new, r1, r2, proof),
        ("old + 1", old + 1, new, r1, r2, proof),
        ("old ^ 2", old ^ 2, new, r1, r2, proof),
        ("new * 2", old, new * 2, r1, r2, proof),
        ("new // 2", old, new // 2, r1, r2, proof),
        ("wrong old root", old, new, wrong_root, r2, proof),
        ("wrong new root", old, new, r1, wrong_root, proof),
        ("swapped roots", old, new, r2, r1, proof),
        ("empty proof", old, new, r1, r2, []),
        ("trailing garbage", old, new, r1, r2, [*proof, b""]),
        ("trailing old root", old, new, r1, r2, [*proof, r1]),
        ("trailing new root", old, new, r1, r2, [*proof, r2]),
        ("preceding garbage", old, new, r1, r2, [b"", *proof]),
        ("preceding old root", old, new, r1, r2, [r1, *proof]),
        ("preceding new root", old, new, r1, r2, [r2, *proof]),
        ("preceding proof[0]", old, new, r1, r2, [proof[0], *proof]),
        ("truncated proof", old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = flip(wrong[i], 0, 16)
        probes.append((f"modified proof[{i}]", old, new, r1, r2, wrong))
    return probes


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY_PROOFS if v[2]])
def test_corrupted_consistency_proofs_fail(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    for desc, m, n, a, b, p in _consistency_probes(old, new, r1, r2, proof):
        with pytest.raises(ProofError):
            verify_consistency(m, n, a, b, p)
            pytest.fail(f"corrupted consistency proof verified: {desc}")


def test_consistency_edge_cases() -> None:
    r1 = hashlib.sha256(b"don't care 1").digest()
    r2 = hashlib.sha256(b"don't care 2").digest()
    # Always consistent.
    verify_consistency(0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [])
    verify_consistency(0, 1, EMPTY_TREE_HASH, r2, [])
    verify_consistency(1, 1, r2, r2, [])
    verify_consistency(5, 5, ROOTS[4], ROOTS[4], [])
    # Same size, different roots: a fork.
    with pytest.raises(ProofError, match="two different roots for tree size 1"):
        verify_consistency(1, 1, r1, r2, [])
    with pytest.raises(ProofError, match="two different roots"):
        verify_consistency(0, 0, EMPTY_TREE_HASH, r2, [])
    # Time travel to the past.
    with pytest.raises(ProofError, match="old tree size 1 is larger than new tree size 0"):
        verify_consistency(1, 0, r1, r2, [])
    with pytest.raises(ProofError, match="larger"):
        verify_consistency(2, 1, r1, r2, [])
    # A proof is needed between different non-zero sizes.
    with pytest.raises(ProofError, match="must have 1 hashes, got 0"):
        verify_consistency(1, 2, r1, r2, [])
    # Roots match but the proof is not empty.
    for old, new in [(0, 0), (0, 1), (1, 1)]:
        with pytest.raises(ProofError, match="must be empty"):
            verify_consistency(old, new, EMPTY_TREE_HASH, EMPTY_TREE_HASH, [EMPTY_TREE_HASH])
    # The empty tree has exactly one root.
    with pytest.raises(ProofError, match="root of the empty tree"):
        verify_consistency(0, 3, r1, ROOTS[2], [])
    with pytest.raises(ProofError, match="old root hash must be 32 bytes"):
        verify_consistency(1, 1, b"short", b"short", [])


def test_consistency_error_messages_name_the_failing_root() -> None:
    old, new, proof = CONSISTENCY_PROOFS[2]
    with pytest.raises(ProofError, match="implies old root"):
        verify_consistency(old, new, ROOTS[4], ROOTS[7], proof)
    with pytest.raises(ProofError, match="implies new root"):
        verify_consistency(old, new, ROOTS[5], ROOTS[6], proof)


def test_exhaustive_small_trees() -> None:
    """Every proof of every tree up to 64 leaves matches RFC 6962 and verifies."""
    leaves = [bytes([i]) for i in range(64)]
    tree = InMemoryTree(leaf_hash(leaf) for leaf in leaves)
    roots = [EMPTY_TREE_HASH] + [ref_mth(leaves[:n]) for n in range(1, 65)]
    for n in range(1, 65):
        assert tree.root(n) == roots[n]
        for m in range(n):
            path = tree.inclusion_proof(m, n)
            assert path == ref_path(m, leaves[:n])
            assert len(path) == inclusion_proof_length(m, n)
            verify_inclusion(leaf_hash(leaves[m]), m, n, path, roots[n])
        for m in range(n + 1):
            proof = tree.consistency_proof(m, n)
            assert proof == ref_proof(m, leaves[:n])
            assert len(proof) == consistency_proof_length(m, n)
            verify_consistency(m, n, roots[m], roots[n], proof)


# --- Property tests ----------------------------------------------------------------------


@st.composite
def tree_and_index(draw):
    size = draw(st.integers(min_value=1, max_value=600))
    index = draw(st.integers(min_value=0, max_value=size - 1))
    seed = draw(st.binary(min_size=1, max_size=8))
    return size, index, seed


def _leaves(size: int, seed: bytes) -> list[bytes]:
    return [seed + i.to_bytes(4, "big") for i in range(size)]


@settings(max_examples=150, deadline=None)
@given(tree_and_index(), st.integers(min_value=1, max_value=255))
def test_every_inclusion_proof_verifies_and_every_flip_fails(params, mask) -> None:
    size, index, seed = params
    leaves = _leaves(size, seed)
    hashes = [leaf_hash(leaf) for leaf in leaves]
    tree = InMemoryTree(hashes)
    root = root_from_leaf_hashes(hashes)
    assert tree.root() == root
    proof = tree.inclusion_proof(index)
    assert len(proof) == inclusion_proof_length(index, size)
    verify_inclusion(hashes[index], index, size, proof, root)
    for i, element in enumerate(proof):
        for pos in range(len(element)):
            bad = list(proof)
            bad[i] = flip(element, pos, mask)
            with pytest.raises(ProofError):
                verify_inclusion(hashes[index], index, size, bad, root)
    for pos in range(32):
        with pytest.raises(ProofError):
            verify_inclusion(flip(hashes[index], pos, mask), index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], index, size, proof, flip(root, pos, mask))
    # The leaf bytes themselves: any change changes the leaf hash.
    altered = flip(leaves[index], len(leaves[index]) - 1, mask)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(altered), index, size, proof, root)
    # The same proof does not prove a neighbouring index.
    for other in (index - 1, index + 1):
        if 0 <= other < size and hashes[other] != hashes[index]:
            with pytest.raises(ProofError):
                verify_inclusion(hashes[index], other, size, proof, root)


@st.composite
def two_sizes(draw):
    new = draw(st.integers(min_value=1, max_value=600))
    old = draw(st.integers(min_value=0, max_value=new))
    seed = draw(st.binary(min_size=1, max_size=8))
    return old, new, seed


@settings(max_examples=150, deadline=None)
@given(two_sizes(), st.integers(min_value=1, max_value=255))
def test_every_consistency_proof_verifies_and_every_flip_fails(params, mask) -> None:
    old, new, seed = params
    hashes = [leaf_hash(leaf) for leaf in _leaves(new, seed)]
    tree = InMemoryTree(hashes)
    old_root, new_root = tree.root(old), tree.root(new)
    proof = tree.consistency_proof(old, new)
    assert len(proof) == consistency_proof_length(old, new)
    verify_consistency(old, new, old_root, new_root, proof)
    for i, element in enumerate(proof):
        for pos in range(len(element)):
            bad = list(proof)
            bad[i] = flip(element, pos, mask)
            with pytest.raises(ProofError):
                verify_consistency(old, new, old_root, new_root, bad)
    for pos in range(32):
        with pytest.raises(ProofError):
            verify_consistency(old, new, flip(old_root, pos, mask), new_root, proof)
        if old == 0 and new > 0:
            # Every tree extends the empty tree: nothing about the new root is proven.
            verify_consistency(old, new, old_root, flip(new_root, pos, mask), proof)
        else:
            with pytest.raises(ProofError):
                verify_consistency(old, new, old_root, flip(new_root, pos, mask), proof)
    if 0 < old < new:
        with pytest.raises(ProofError):
            verify_consistency(old, new, new_root, old_root, proof)
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, proof[:-1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=200))
def test_builder_matches_reference(leaves) -> None:
    assert root_from_leaf_hashes([leaf_hash(x) for x in leaves]) == ref_mth(leaves)


# --- JSON proof containers ------------------------------------------------------------


def test_inclusion_proof_json_round_trip() -> None:
    index, size, path = INCLUSION_PROOFS[2]
    proof = InclusionProof(index, size, LEAF_HASHES[index], tuple(path), LEAVES[index])
    data = proof.to_dict()
    assert set(data) == {"leaf_index", "tree_size", "leaf_hash", "hashes", "leaf"}
    assert InclusionProof.from_dict(data) == proof
    proof.verify(ROOTS[7])
    del data["leaf_hash"]
    assert InclusionProof.from_dict(data).leaf_hash == LEAF_HASHES[index]


def test_inclusion_proof_json_errors() -> None:
    index, size, path = INCLUSION_PROOFS[2]
    good = InclusionProof(index, size, LEAF_HASHES[index], tuple(path)).to_dict()
    with pytest.raises(ProofError, match="lacks 'leaf_index'"):
        InclusionProof.from_dict({k: v for k, v in good.items() if k != "leaf_index"})
    with pytest.raises(ProofError, match="needs 'leaf_hash' or 'leaf'"):
        InclusionProof.from_dict({k: v for k, v in good.items() if k != "leaf_hash"})
    with pytest.raises(ProofError, match="'tree_size' must be a non-negative integer"):
        InclusionProof.from_dict({**good, "tree_size": True})
    with pytest.raises(ProofError, match="proof hash #0 is not valid base64"):
        InclusionProof.from_dict({**good, "hashes": ["***", *good["hashes"][1:]]})
    with pytest.raises(ProofError, match="proof hash #1 must be 32 bytes"):
        InclusionProof.from_dict({**good, "hashes": [good["hashes"][0], "AAAA"]})
    with pytest.raises(ProofError, match="does not match SHA-256"):
        InclusionProof.from_dict({**good, "leaf": "AAAA"})
    with pytest.raises(ProofError, match="must be an object"):
        InclusionProof.from_dict([1, 2])


def test_consistency_proof_json_round_trip() -> None:
    old, new, proof = CONSISTENCY_PROOFS[3]
    cp = ConsistencyProof(old, new, tuple(proof))
    assert ConsistencyProof.from_dict(cp.to_dict()) == cp
    cp.verify(ROOTS[old - 1], ROOTS[new - 1])
    with pytest.raises(ProofError):
        cp.verify(ROOTS[old - 1], ROOTS[new - 2])
    with pytest.raises(ProofError, match="lacks 'second'"):
        ConsistencyProof.from_dict({"first": 1, "hashes": []})
