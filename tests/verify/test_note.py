"""C2SP signed notes and checkpoints.

The known answer is the example of Go's reference implementation
(``golang.org/x/mod/sumdb/note``): Ed25519 signatures are deterministic, so signing the
same text with the same key must reproduce the published note byte for byte.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from caseledger_verify.merkle import EMPTY_ROOT
from caseledger_verify.note import (
    Checkpoint,
    NoteError,
    format_checkpoint_body,
    generate_signer,
    key_hash,
    open_note,
    parse_checkpoint,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verifier_key_from_public_key,
    verify_note,
)

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_SIG
# A second signature from the same documentation, by a key we do not hold.
ENOCH_SIG = (
    "\u2014 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

ORIGIN = "caseledger.example/ledger"
ROOT = hashlib.sha256(b"some root").digest()


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_signer(ORIGIN)


def _sign_raw(body: str, skey: str) -> str:
    """Sign arbitrary text, bypassing every format check of :func:`sign_note`."""
    signer = parse_signer_key(skey)
    blob = base64.b64encode(signer.key_hash + signer.sign(body.encode())).decode()
    return f"{body}\n\u2014 {signer.name} {blob}\n"


# --- Reference vectors -----------------------------------------------------------------


def test_go_reference_sign_is_byte_identical() -> None:
    assert sign_note(GO_TEXT, GO_SKEY) == GO_NOTE


def test_go_reference_keys() -> None:
    verifier = parse_verifier_key(GO_VKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_hash.hex() == "c74f20a3"
    assert str(verifier) == GO_VKEY
    signer = parse_signer_key(GO_SKEY)
    assert str(signer) == GO_SKEY
    assert str(signer.verifier) == GO_VKEY
    assert key_hash("PeterNeumann", verifier.public_key).hex() == "c74f20a3"
    assert verifier_key_from_public_key("PeterNeumann", verifier.public_key) == GO_VKEY


def test_go_reference_open_ignores_unknown_signatures() -> None:
    parsed = open_note(GO_NOTE, GO_VKEY)
    assert parsed.text == GO_TEXT
    assert parsed.body_bytes == GO_TEXT.encode()
    doubly = GO_TEXT + "\n" + GO_SIG + ENOCH_SIG
    assert [s.name for s in open_note(doubly, GO_VKEY).signatures] == [
        "PeterNeumann",
        "EnochRoot",
    ]
    with pytest.raises(NoteError, match="no signature by the trusted key"):
        open_note(GO_TEXT + "\n" + ENOCH_SIG, GO_VKEY)


def test_go_reference_tampering() -> None:
    with pytest.raises(NoteError, match="invalid signature on line 4 by PeterNeumann"):
        open_note(GO_NOTE.replace("problem,", "problem;"), GO_VKEY)
    sig = GO_SIG.split(" ")[2]
    raw = bytearray(base64.b64decode(sig))
    raw[10] ^= 1
    tampered = GO_NOTE.replace(sig.strip(), base64.b64encode(bytes(raw)).decode())
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(tampered, GO_VKEY)


# --- Checkpoints ----------------------------------------------------------------------


def test_checkpoint_round_trip(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    assert skey.startswith(f"PRIVATE+KEY+{ORIGIN}+")
    assert vkey.startswith(f"{ORIGIN}+")
    note = sign_checkpoint(ORIGIN, 1234, ROOT, skey)
    body, _, sigs = note.partition("\n\n")
    assert body == f"{ORIGIN}\n1234\n{base64.b64encode(ROOT).decode()}"
    assert sigs.startswith(f"\u2014 {ORIGIN} ")
    assert sigs.endswith("\n") and sigs.count("\n") == 1
    assert len(base64.b64decode(sigs.split(" ")[2])) == 4 + 64
    cp = verify_note(note, vkey)
    assert cp == Checkpoint(ORIGIN, 1234, ROOT, (), (body + "\n").encode())
    assert parse_checkpoint(note) == cp
    assert verify_note(note.encode(), vkey) == cp


def test_checkpoint_with_extensions_and_empty_tree(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    note = sign_checkpoint(ORIGIN, 0, EMPTY_ROOT, skey, extensions=["ext one", "ext-two"])
    cp = verify_note(note, vkey)
    assert (cp.size, cp.root, cp.extensions) == (0, EMPTY_ROOT, ("ext one", "ext-two"))


def test_cosignatures_by_other_keys_are_ignored(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    witness_skey, witness_vkey = generate_signer("witness.example/w1")
    note = sign_checkpoint(ORIGIN, 7, ROOT, skey)
    body = note.partition("\n\n")[0] + "\n"
    cosigned = note + sign_note(body, witness_skey).partition("\n\n")[2]
    assert verify_note(cosigned, vkey).size == 7
    # The witness key verifies its own signature; the origin is not its name.
    assert verify_note(cosigned, witness_vkey, check_origin=False).size == 7
    with pytest.raises(NoteError, match="origin .* does not match the key name"):
        verify_note(cosigned, witness_vkey)


def test_wrong_key(keys: tuple[str, str]) -> None:
    skey, _ = keys
    note = sign_checkpoint(ORIGIN, 5, ROOT, skey)
    _, other_same_name = generate_signer(ORIGIN)
    with pytest.raises(NoteError, match="different key hash"):
        verify_note(note, other_same_name)
    _, other_name = generate_signer("other.example/log")
    with pytest.raises(NoteError, match="no signature by the trusted key other.example/log"):
        verify_note(note, other_name)


def test_same_key_hash_but_wrong_public_key(keys: tuple[str, str]) -> None:
    """A signature line naming our key whose bytes were made by another key."""
    skey, vkey = keys
    body = format_checkpoint_body(ORIGIN, 5, ROOT)
    intruder = parse_signer_key(generate_signer(ORIGIN)[0])
    ours = parse_verifier_key(vkey)
    blob = base64.b64encode(ours.key_hash + intruder.sign(body.encode())).decode()
    with pytest.raises(NoteError, match="invalid signature on line 5"):
        verify_note(f"{body}\n\u2014 {ORIGIN} {blob}\n", vkey)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("\n5\n", "\n6\n"),  # tree size
        (f"{ORIGIN}\n", "caseledger.example/other\n"),  # origin
        ("=\n\n", "=\nextra line\n\n"),  # appended extension line
    ],
)
def test_tampered_body(keys: tuple[str, str], old: str, new: str) -> None:
    skey, vkey = keys
    note = sign_checkpoint(ORIGIN, 5, ROOT, skey)
    assert old in note
    tampered = note.replace(old, new, 1)
    with pytest.raises(NoteError, match="invalid signature|origin"):
        verify_note(tampered, vkey)


def test_tampered_root(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    note = sign_checkpoint(ORIGIN, 5, ROOT, skey)
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(note.replace(base64.b64encode(ROOT).decode(), other), vkey)


@pytest.mark.parametrize("position", [0, 3, 4, 20, 67])
def test_tampered_signature(keys: tuple[str, str], position: int) -> None:
    skey, vkey = keys
    note = sign_checkpoint(ORIGIN, 5, ROOT, skey)
    head, _, b64 = note.rstrip("\n").rpartition(" ")
    raw = bytearray(base64.b64decode(b64))
    raw[position] ^= 0x40
    tampered = f"{head} {base64.b64encode(bytes(raw)).decode()}\n"
    # Bytes 0-3 are the key hash: then the signature is not "by" our key at all.
    with pytest.raises(NoteError, match="invalid signature" if position >= 4 else "key hash"):
        verify_note(tampered, vkey)


def test_a_bad_duplicate_signature_is_not_ignored(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    note = sign_checkpoint(ORIGIN, 5, ROOT, skey)
    sig_line = note.partition("\n\n")[2]
    raw = bytearray(base64.b64decode(sig_line.split(" ")[2]))
    raw[-1] ^= 1
    bad_line = f"\u2014 {ORIGIN} {base64.b64encode(bytes(raw)).decode()}\n"
    assert verify_note(note + sig_line, vkey).size == 5  # an identical repeat is fine
    with pytest.raises(NoteError, match="invalid signature on line 6"):
        verify_note(note + bad_line, vkey)


def test_signature_of_wrong_length(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    verifier = parse_verifier_key(vkey)
    body = format_checkpoint_body(ORIGIN, 5, ROOT)
    blob = base64.b64encode(verifier.key_hash + bytes(63)).decode()
    with pytest.raises(NoteError, match="must be 64 bytes, got 63"):
        verify_note(f"{body}\n\u2014 {ORIGIN} {blob}\n", vkey)


# --- Malformed notes: every one is signed with the right key, so only the format fails ----


def _root_b64(root: bytes = ROOT) -> str:
    return base64.b64encode(root).decode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"{ORIGIN}\n007\n{_root_b64()}\n", "not a canonical decimal"),
        (f"{ORIGIN}\n+7\n{_root_b64()}\n", "not a canonical decimal"),
        (f"{ORIGIN}\n 7\n{_root_b64()}\n", "not a canonical decimal"),
        (f"{ORIGIN}\n-1\n{_root_b64()}\n", "not a canonical decimal"),
        (f"{ORIGIN}\n1_000\n{_root_b64()}\n", "not a canonical decimal"),
        (f"{ORIGIN}\n\u0663\n{_root_b64()}\n", "not a canonical decimal"),  # Arabic-Indic 3
        (f"{ORIGIN}\n0x10\n{_root_b64()}\n", "not a canonical decimal"),
        (f"{ORIGIN}\n{1 << 64}\n{_root_b64()}\n", "does not fit in 64 bits"),
        (f"{ORIGIN}\n7\n{_root_b64(ROOT[:31])}\n", "must be 32 bytes, got 31"),
        (f"{ORIGIN}\n7\n{_root_b64(ROOT + b'x')}\n", "must be 32 bytes, got 33"),
        (f"{ORIGIN}\n7\n{_root_b64().rstrip('=')}\n", "not valid base64"),
        (f"{ORIGIN}\n7\n{ROOT.hex()}\n", "must be 32 bytes"),
        (f"{ORIGIN}\n7\n{_root_b64()[:-2]}B=\n", "not canonical base64"),
        (f"{ORIGIN}\n7\n", "has 2 lines, needs at least 3"),
    ],
)
def test_malformed_checkpoint_bodies(keys: tuple[str, str], body: str, message: str) -> None:
    skey, vkey = keys
    note = _sign_raw(body, skey)
    with pytest.raises(NoteError, match=message):
        verify_note(note, vkey)
    with pytest.raises(NoteError, match=message):
        parse_checkpoint(note)


def test_empty_extension_line(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    # A blank line inside the body: the note splits at the LAST blank line, leaving an
    # empty line in the checkpoint text.
    note = _sign_raw(f"{ORIGIN}\n7\n{_root_b64()}\n\next\n", skey)
    with pytest.raises(NoteError, match="line 4 is empty"):
        verify_note(note, vkey)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda n: n.rstrip("\n"), "does not end with a newline"),
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n.partition("\n\n")[0] + "\n\n", "no signature lines"),
        (lambda n: n.replace("\u2014 ", "- "), "not a signature line"),
        (lambda n: n.replace("\u2014 ", "\u2014"), "not a signature line"),
        (lambda n: n.replace("\n", "\r\n"), "CRLF"),
        (lambda n: n.replace(ORIGIN, ORIGIN + "\t", 1), "control character U\\+0009"),
        (lambda n: n.replace(f"\u2014 {ORIGIN} ", "\u2014 has+plus "), "invalid key name"),
        (lambda n: n.replace(f"\u2014 {ORIGIN} ", f"\u2014 {ORIGIN}"), "invalid key name"),
        (lambda n: n[:-3] + "!!\n", "not valid base64"),
        (lambda n: n.partition("\n\n")[0] + f"\n\n\u2014 {ORIGIN} AAAA\n", "too short"),
        (lambda n: n + n.partition("\n\n")[2] * 100, "more than 100 signatures"),
    ],
)
def test_malformed_notes(keys: tuple[str, str], mangle, message: str) -> None:
    skey, vkey = keys
    note = sign_checkpoint(ORIGIN, 7, ROOT, skey)
    with pytest.raises(NoteError, match=message):
        verify_note(mangle(note), vkey)


def test_not_utf8(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    note = sign_checkpoint(ORIGIN, 7, ROOT, skey).encode()
    with pytest.raises(NoteError, match="not valid UTF-8"):
        verify_note(note.replace(b"\xe2\x80\x94", b"\xe2\x80"), vkey)


def test_origin_must_match_key_name(keys: tuple[str, str]) -> None:
    skey, vkey = keys
    with pytest.raises(NoteError, match="must equal the signer key name"):
        sign_checkpoint("elsewhere.example/log", 7, ROOT, skey)
    note = sign_note(format_checkpoint_body("elsewhere.example/log", 7, ROOT), skey)
    with pytest.raises(NoteError, match="does not match the key name"):
        verify_note(note, vkey)
    assert verify_note(note, vkey, check_origin=False).origin == "elsewhere.example/log"


def test_parse_note_reports_signature_lines(keys: tuple[str, str]) -> None:
    skey, _ = keys
    parsed = parse_note(sign_checkpoint(ORIGIN, 7, ROOT, skey))
    (sig,) = parsed.signatures
    assert (sig.name, sig.line, len(sig.signature)) == (ORIGIN, 5, 64)


def test_format_checkpoint_body_rejects_bad_input() -> None:
    with pytest.raises(NoteError, match="origin"):
        format_checkpoint_body("", 1, ROOT)
    with pytest.raises(NoteError, match="size"):
        format_checkpoint_body(ORIGIN, -1, ROOT)
    with pytest.raises(NoteError, match="size"):
        format_checkpoint_body(ORIGIN, True, ROOT)
    with pytest.raises(NoteError, match="32 bytes"):
        format_checkpoint_body(ORIGIN, 1, ROOT[:5])
    with pytest.raises(NoteError, match="extension"):
        format_checkpoint_body(ORIGIN, 1, ROOT, ["a\nb"])
    with pytest.raises(NoteError, match="newline"):
        sign_note("no newline", GO_SKEY)
    with pytest.raises(NoteError, match="blank lines"):
        sign_note("a\n\nb\n", GO_SKEY)


# --- Key strings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("", "must look like"),
        ("PeterNeumann+c74f20a3", "must look like"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase hex"),
        ("PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase hex"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "invalid name"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "base64"),
        ("PeterNeumann+c74f20a3+AhpcZQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "0x01"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAAAA", "0x01"),
        ("Other+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
    ],
)
def test_bad_verifier_keys(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_verifier_key(vkey)


@pytest.mark.parametrize(
    ("skey", "message"),
    [
        (GO_SKEY.replace("PRIVATE+KEY+", ""), "must look like"),
        (GO_SKEY.replace("PRIVATE", "SECRET"), "must look like"),
        (GO_SKEY.replace("c74f20a3", "c74f20a4"), "does not match"),
        (GO_SKEY.replace("PeterNeumann", "Other"), "does not match"),
        (GO_SKEY.replace("+AYEK", "+AIEK"), "0x01"),
        (GO_SKEY[:-1], "base64"),
    ],
)
def test_bad_signer_keys(skey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        parse_signer_key(skey)


def test_generated_keys_are_fresh_and_consistent() -> None:
    s1, v1 = generate_signer("a.example/log")
    s2, v2 = generate_signer("a.example/log")
    assert (s1, v1) != (s2, v2)
    assert str(parse_signer_key(s1).verifier) == v1
    assert str(parse_verifier_key(v1)) == v1
    signer = parse_signer_key(s1)
    assert repr(signer.seed) not in repr(signer)  # the seed never shows in a repr
    with pytest.raises(NoteError, match="invalid key name"):
        generate_signer("has space")
    with pytest.raises(NoteError, match="invalid key name"):
        generate_signer("a+b")
