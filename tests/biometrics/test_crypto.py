from __future__ import annotations

import base64

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from caseledger.core import crypto

KEY_OLD = base64.b64encode(bytes(range(32))).decode()
KEY_NEW = base64.b64encode(bytes(range(100, 132))).decode()
KEY_OTHER = base64.b64encode(b"\x07" * 32).decode()


def test_round_trip_with_associated_data() -> None:
    token = crypto.encrypt(b"template bytes", associated_data=b"enrolment:1")
    assert token != crypto.encrypt(b"template bytes", associated_data=b"enrolment:1")  # nonce
    assert b"template bytes" not in token
    assert crypto.decrypt(token, associated_data=b"enrolment:1") == b"template bytes"
    assert crypto.decrypt(crypto.encrypt(b"")) == b""


def test_token_names_the_current_key() -> None:
    with override_settings(ENCRYPTION_KEYS=f"k2024:{KEY_OLD}"):
        token = crypto.encrypt(b"x")
        assert crypto.key_id_of(token) == "k2024" == crypto.current_key_id()
        assert token[2:7] == b"k2024"


def test_wrong_key_fails() -> None:
    with override_settings(ENCRYPTION_KEYS=f"main:{KEY_OLD}"):
        token = crypto.encrypt(b"secret")
    with override_settings(ENCRYPTION_KEYS=f"main:{KEY_OTHER}"):  # same id, other key
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token)
    with override_settings(ENCRYPTION_KEYS=f"other:{KEY_OLD}"):  # id not configured
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token)


@pytest.mark.parametrize("position", [0, 1, 3, 8, 20, -1])
def test_tampered_token_fails(position: int) -> None:
    with override_settings(ENCRYPTION_KEYS=f"main:{KEY_OLD}"):
        token = bytearray(crypto.encrypt(b"a face template", associated_data=b"row-1"))
        token[position] ^= 0x01
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(bytes(token), associated_data=b"row-1")


def test_truncated_and_foreign_tokens_fail() -> None:
    token = crypto.encrypt(b"abc")
    for bad in (b"", token[:1], token[:10], token[:-1], b"\x02" + token[1:], b"plain text"):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(bad)


def test_wrong_associated_data_fails() -> None:
    token = crypto.encrypt(b"secret", associated_data=b"enrolment:1")
    for aad in (b"enrolment:2", b""):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token, associated_data=aad)


def test_rotation_old_key_still_decrypts() -> None:
    with override_settings(ENCRYPTION_KEYS=f"old:{KEY_OLD}"):
        old_token = crypto.encrypt(b"kept", associated_data=b"ad")
    with override_settings(ENCRYPTION_KEYS=f"new:{KEY_NEW}, old:{KEY_OLD}"):
        assert crypto.decrypt(old_token, associated_data=b"ad") == b"kept"
        assert crypto.key_id_of(crypto.encrypt(b"fresh")) == "new"
        rotated = crypto.reencrypt(old_token, associated_data=b"ad")
        assert crypto.key_id_of(rotated) == "new"
        assert crypto.reencrypt(rotated, associated_data=b"ad") == rotated
    with override_settings(ENCRYPTION_KEYS=f"new:{KEY_NEW}"):  # old key retired
        assert crypto.decrypt(rotated, associated_data=b"ad") == b"kept"
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(old_token, associated_data=b"ad")


@pytest.mark.parametrize(
    "value",
    [
        "",
        " , ",
        KEY_OLD,  # no id
        "bad id!:" + KEY_OLD,
        "short:" + base64.b64encode(b"x" * 16).decode(),  # AES-128 is not accepted
        "notb64:%%%%",
        f"dup:{KEY_OLD},dup:{KEY_NEW}",
    ],
)
def test_misconfiguration_is_clear_and_never_shows_the_key(value: str) -> None:
    with override_settings(ENCRYPTION_KEYS=value):
        with pytest.raises(ImproperlyConfigured) as info:
            crypto.encrypt(b"x")
    message = str(info.value)
    assert "ENCRYPTION_KEYS" in message
    assert KEY_OLD not in message and KEY_NEW not in message


def test_urlsafe_base64_and_generated_entries_work() -> None:
    entry = crypto.generate_key_entry("gen-1")
    urlsafe = "u:" + base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    with override_settings(ENCRYPTION_KEYS=f"{entry},{urlsafe}"):
        assert crypto.decrypt(crypto.encrypt(b"ok")) == b"ok"
        assert crypto.current_key_id() == "gen-1"
