"""Encryption at rest, blind indexes, pseudonyms, masking and the key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yutang.kit.crypto import (
    DataKeyError,
    DataProtector,
    decode_master_key,
    load_or_create_key_file,
    mask_name,
    mask_phone,
    normalize_phone,
)

PROTECTOR = DataProtector.from_master_key(b"\x01" * 32)


@given(st.text(max_size=200))
def test_encryption_round_trips_and_is_randomised(text: str) -> None:
    first = PROTECTOR.encrypt(text, "customer.name")
    second = PROTECTOR.encrypt(text, "customer.name")
    assert first != second
    assert PROTECTOR.decrypt(first, "customer.name") == text
    if len(text.encode()) >= 4:
        assert text.encode() not in first


def test_ciphertext_is_bound_to_its_column_and_key() -> None:
    sealed = PROTECTOR.encrypt("13812341234", "customer.phone")
    with pytest.raises(DataKeyError):
        PROTECTOR.decrypt(sealed, "customer.name")
    other = DataProtector.from_master_key(b"\x02" * 32)
    with pytest.raises(DataKeyError):
        other.decrypt(sealed, "customer.phone")


def test_blind_index_is_deterministic_keyed_and_kind_separated() -> None:
    phone = normalize_phone("+86 138-1234-1234")
    assert phone == "13812341234"
    index = PROTECTOR.blind_index(phone, "phone")
    assert index == PROTECTOR.blind_index("13812341234", "phone")
    assert index != PROTECTOR.blind_index(phone, "member_card")
    assert index != DataProtector.from_master_key(b"\x02" * 32).blind_index(phone, "phone")
    assert phone not in index and len(index) == 32


def test_masks() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_name("张伟") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("李") == "李*"


def test_key_file_is_created_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "yutang.key"
    first = load_or_create_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key_file(path) == first
    with pytest.raises(DataKeyError):
        decode_master_key("c2hvcnQ=")
