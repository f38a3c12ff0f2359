"""Standalone verifier for caseledger's tamper-evident access ledger.

No Django, no database: only the standard library and ``cryptography``, so an outside
auditor can check checkpoints, proofs and full exports (see ``docs/LEDGER_VERIFY.md``).

* :mod:`caseledger_verify.merkle` -- RFC 6962 / RFC 9162 Merkle trees and proofs;
* :mod:`caseledger_verify.note` -- C2SP signed notes and tlog checkpoints (Ed25519);
* :mod:`caseledger_verify.cli` -- the ``caseledger-verify`` command.
"""

__version__ = "0.1.0"

from .merkle import (  # noqa: E402
    EMPTY_ROOT,
    ConsistencyProof,
    InclusionProof,
    InMemoryTree,
    ProofError,
    TreeBuilder,
    chain_hash,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    subtree_hash_from_nodes,
    verify_consistency,
    verify_inclusion,
)
from .note import (  # noqa: E402
    Checkpoint,
    NoteError,
    generate_signer,
    parse_checkpoint,
    sign_checkpoint,
    verify_note,
)

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "ConsistencyProof",
    "InMemoryTree",
    "InclusionProof",
    "NoteError",
    "ProofError",
    "TreeBuilder",
    "__version__",
    "chain_hash",
    "consistency_proof",
    "generate_signer",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "parse_checkpoint",
    "root_from_leaf_hashes",
    "sign_checkpoint",
    "subtree_hash_from_nodes",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
]
