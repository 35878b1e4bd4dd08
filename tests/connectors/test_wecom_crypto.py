"""The callback crypto against an independent implementation (wechatpy, a test-only oracle),
in both directions, plus the protocol's edges: 32-byte padding, refusals, XML parsing."""

from __future__ import annotations

import base64
import os

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import WeChatCrypto

from yutang.connectors.wecom.crypto import (
    WeComCipher,
    aes_key_from,
    pkcs7_pad,
    pkcs7_unpad,
    signature,
)
from yutang.connectors.wecom.errors import (
    DecryptionFailed,
    InvalidSignature,
    InvalidWeComConfig,
    MalformedCallback,
    WrongReceiveId,
)
from yutang.connectors.wecom.messages import (
    ExternalChatEvent,
    ExternalContactEvent,
    OtherMessage,
    envelope_xml,
    message_key,
    parse_envelope,
    parse_message,
    render_xml,
)

CORP_ID = "wworacle000001"
TOKEN = "oracleToken7"
AES_KEY = base64.b64encode(bytes(range(32))).decode()[:-1]

keys = st.binary(min_size=32, max_size=32).map(lambda raw: base64.b64encode(raw).decode()[:-1])
texts = st.text(min_size=0, max_size=300)
tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                 min_size=1, max_size=32)


@settings(max_examples=60, deadline=None)
@given(key=keys, message=texts, token=tokens)
def test_our_encryption_opens_with_wechatpy(key: str, message: str, token: str) -> None:
    ours = WeComCipher(token=token, encoding_aes_key=key, receive_id=CORP_ID)
    encrypted = ours.encrypt(message)
    timestamp, nonce = "1764547200", "nonce42"
    body = envelope_xml(to_user_name=CORP_ID, agent_id="1000002", encrypted=encrypted)
    oracle = WeChatCrypto(token, key, CORP_ID)
    assert oracle.decrypt_message(body, ours.sign(timestamp, nonce, encrypted), timestamp,
                                  nonce) == message


@settings(max_examples=60, deadline=None)
@given(key=keys, message=texts, token=tokens)
def test_wechatpy_encryption_opens_with_ours(key: str, message: str, token: str) -> None:
    oracle = WeChatCrypto(token, key, CORP_ID)
    timestamp, nonce = "1764547200", "nonce42"
    reply = xmltodict.parse(oracle.encrypt_message(message, nonce, timestamp))["xml"]
    ours = WeComCipher(token=token, encoding_aes_key=key, receive_id=CORP_ID)
    assert ours.open(reply["MsgSignature"], timestamp, nonce, reply["Encrypt"]) == message


@settings(max_examples=100, deadline=None)
@given(token=tokens, timestamp=st.integers(0, 2**32).map(str),
       nonce=st.text(min_size=1, max_size=32), encrypted=st.text(min_size=1, max_size=200))
def test_signatures_equal_wechatpys(token: str, timestamp: str, nonce: str,
                                    encrypted: str) -> None:
    assert signature(token, timestamp, nonce, encrypted) == _get_signature(
        token, timestamp, nonce, encrypted)


def test_url_verification_echostr_both_ways() -> None:
    ours = WeComCipher(token=TOKEN, encoding_aes_key=AES_KEY, receive_id=CORP_ID)
    oracle = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    echostr = ours.encrypt("1616140317555161061")
    timestamp, nonce = "1409659589", "263014780"
    assert oracle.check_signature(ours.sign(timestamp, nonce, echostr), timestamp, nonce,
                                  echostr) == "1616140317555161061"


@pytest.mark.parametrize("length", [0, 1, 11, 12, 31, 32, 33, 44, 63, 64])
def test_padding_is_to_32_bytes_and_an_aligned_message_gets_a_whole_block(length: int) -> None:
    # 16 random + 4 length + message + 14-byte receive id: 44 + n bytes before padding
    ours = WeComCipher(token=TOKEN, encoding_aes_key=AES_KEY, receive_id=CORP_ID)
    encrypted = ours.encrypt("x" * length)
    sealed = base64.b64decode(encrypted)
    assert len(sealed) % 32 == 0
    unpadded = 16 + 4 + length + len(CORP_ID)
    pad = len(sealed) - unpadded
    assert 1 <= pad <= 32 and (pad == 32) == (unpadded % 32 == 0)
    assert ours.decrypt(encrypted) == "x" * length
    assert WeChatCrypto(TOKEN, AES_KEY, CORP_ID).check_signature(
        ours.sign("1", "n", encrypted), "1", "n", encrypted) == "x" * length


def test_pads_from_17_to_32_are_accepted_and_bad_pads_refused() -> None:
    for count in range(1, 33):
        padded = pkcs7_pad(b"a" * (32 - count))
        assert padded[-1] == count and pkcs7_unpad(padded) == b"a" * (32 - count)
    with pytest.raises(DecryptionFailed):
        pkcs7_unpad(b"a" * 31 + b"\x21")
    with pytest.raises(DecryptionFailed):
        pkcs7_unpad(b"a" * 30 + b"\x01\x02")
    with pytest.raises(DecryptionFailed):
        pkcs7_unpad(b"")


def test_refusals() -> None:
    ours = WeComCipher(token=TOKEN, encoding_aes_key=AES_KEY, receive_id=CORP_ID)
    encrypted = ours.encrypt("<xml/>", random_prefix=bytes(16))
    with pytest.raises(InvalidSignature):
        ours.open("0" * 40, "1", "n", encrypted)
    other_corp = WeComCipher(token=TOKEN, encoding_aes_key=AES_KEY, receive_id="wwsomeoneelse")
    with pytest.raises(WrongReceiveId):
        other_corp.decrypt(encrypted)
    other_key = base64.b64encode(bytes(range(100, 132))).decode()[:-1]
    with pytest.raises(DecryptionFailed):
        WeComCipher(token=TOKEN, encoding_aes_key=other_key, receive_id=CORP_ID).decrypt(
            encrypted)
    for garbage in ("not base64!", "", base64.b64encode(b"short").decode()):
        with pytest.raises(DecryptionFailed):
            ours.decrypt(garbage)
    with pytest.raises(InvalidWeComConfig):
        aes_key_from("too-short")
    with pytest.raises(InvalidWeComConfig):
        aes_key_from("!" * 43)
    assert len(aes_key_from(base64.b64encode(os.urandom(32)).decode()[:-1])) == 32


def test_messages_parse_into_typed_events() -> None:
    add = parse_message(render_xml({
        "ToUserName": CORP_ID, "FromUserName": "sys", "CreateTime": 1764547200,
        "MsgType": "event", "Event": "change_external_contact",
        "ChangeType": "add_external_contact", "UserID": "wang", "ExternalUserID": "wmA",
        "State": "ytabc", "WelcomeCode": "WC"}))
    assert isinstance(add, ExternalContactEvent)
    assert (add.change_type, add.user_id, add.external_user_id, add.state, add.welcome_code) \
        == ("add_external_contact", "wang", "wmA", "ytabc", "WC")
    chat = parse_message(
        "<xml><ToUserName>c</ToUserName><FromUserName>sys</FromUserName>"
        "<CreateTime>1764547200</CreateTime><MsgType>event</MsgType>"
        "<Event>change_external_chat</Event><ChatId>wr1</ChatId><ChangeType>update</ChangeType>"
        "<UpdateDetail>add_member</UpdateDetail><JoinScene>3</JoinScene>"
        "<MemChangeCnt>2</MemChangeCnt><MemChangeList>wmA,wmB</MemChangeList></xml>")
    assert isinstance(chat, ExternalChatEvent)
    assert (chat.members, chat.join_scene, chat.member_change_count) == (("wmA", "wmB"), 3, 2)
    other = parse_message("<xml><CreateTime>1</CreateTime><MsgType>text</MsgType>"
                          "<Content>hi</Content></xml>")
    assert isinstance(other, OtherMessage) and other.fields["Content"] == "hi"
    # two customers added to one member in the same second are two messages
    second = parse_message(render_xml({
        "ToUserName": CORP_ID, "FromUserName": "sys", "CreateTime": 1764547200,
        "MsgType": "event", "Event": "change_external_contact",
        "ChangeType": "add_external_contact", "UserID": "wang", "ExternalUserID": "wmB"}))
    assert message_key(CORP_ID, add) != message_key(CORP_ID, second)


@pytest.mark.parametrize("body", [
    b"", b"<xml><Encrypt>abc", b"<notxml><Encrypt>abc</Encrypt></notxml>", b"<xml></xml>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>',
    b"<xml><Encrypt>" + b"a" * 300_000 + b"</Encrypt></xml>",
])
def test_malformed_or_hostile_xml_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedCallback):
        parse_envelope(body)


def test_message_without_required_ids_is_malformed() -> None:
    with pytest.raises(MalformedCallback):
        parse_message("<xml><CreateTime>1</CreateTime><Event>change_external_contact</Event>"
                      "<ChangeType>add_external_contact</ChangeType></xml>")
    with pytest.raises(MalformedCallback):
        parse_message("<xml><CreateTime>soon</CreateTime></xml>")
