"""``/connectors/official-account/callback``: URL verification, followers arriving through a
parametric QR code attributed to its channel code, SCAN and unsubscribe, plaintext and safe
modes, replays dropped — and every bad callback refused without writing anything."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.connectors.official_account_support import (
    AES_KEY,
    APP_ID,
    PATH,
    TOKEN,
    Request,
    channel_code,
    configure,
    counts,
    event_xml,
    plaintext_request,
    post,
    safe_request,
)
from tests.support.factories import make_store
from yutang.connectors.official_account.crypto import url_signature
from yutang.connectors.official_account.models import OfficialAccountCallback
from yutang.connectors.wecom.crypto import WeComCipher
from yutang.pool.models import Customer, Event, Identity, Touch


def _events(db: Session) -> list[tuple[str, dict[str, object]]]:
    db.expire_all()
    return [(row.type, row.properties)
            for row in db.scalars(select(Event).order_by(Event.occurred_at, Event.id))]


def test_url_verification_answers_echostr_exactly(client: TestClient, db: Session) -> None:
    configure(db)
    timestamp = str(int(time.time()))
    params = {"signature": url_signature(TOKEN, timestamp, "n1"), "timestamp": timestamp,
              "nonce": "n1", "echostr": "7312596455361248562"}
    ok = client.get(PATH, params=params)
    assert (ok.status_code, ok.content) == (200, b"7312596455361248562")
    forged = client.get(PATH, params={**params, "signature": "0" * 40})
    assert (forged.status_code, forged.text) == (403, "official_account_invalid_signature")
    stale = str(int(time.time()) - 301)
    old = client.get(PATH, params={**params, "timestamp": stale,
                                   "signature": url_signature(TOKEN, stale, "n1")})
    assert (old.status_code, old.text) == (403, "official_account_stale_timestamp")


def test_a_follower_through_a_channel_code_enters_the_pool_attributed_and_leaves_with_history(
    client: TestClient, db: Session
) -> None:
    store = make_store(db, "SH01")
    configure(db)
    code = channel_code(client, db)
    openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    subscribed = post(client, safe_request(event_xml(
        "subscribe", openid, event_key=f"qrscene_{code['state']}", unionid="o6_bmasdasdsad6")))
    assert subscribed == (200, "success")
    db.expire_all()
    customer = db.scalars(select(Customer)).one()
    assert (customer.acquisition_code_id, customer.store_id) == (code["id"], store.id)
    scan = db.scalars(select(Event).where(Event.type == "scan_code")).one()
    assert customer.acquisition_channel_id == scan.channel_id is not None
    identities = {(row.kind, row.scope, row.value) for row in db.scalars(
        select(Identity).where(Identity.customer_id == customer.id))}
    assert identities == {("wechat_openid", APP_ID, openid),
                          ("wechat_unionid", "", "o6_bmasdasdsad6")}
    assert _events(db) == [
        ("subscribe", {"app_id": APP_ID, "official_account_event": "subscribe",
                       "scene": code["state"]}),
        ("scan_code", {"app_id": APP_ID, "official_account_event": "subscribe",
                       "state": code["state"]}),
    ]
    touch = db.scalars(select(Touch)).one()
    assert (touch.customer_id, touch.code_id, touch.kind) == (customer.id, code["id"],
                                                              "scan_code")

    # a follower scanning the code again (SCAN carries the bare scene), then unsubscribing
    later = int(time.time()) + 1
    assert post(client, safe_request(event_xml("SCAN", openid, event_key=code["state"],
                                               create_time=later))) == (200, "success")
    assert post(client, safe_request(event_xml("unsubscribe", openid,
                                               create_time=later + 1))) == (200, "success")
    db.expire_all()
    assert [kind for kind, _ in _events(db)] == ["subscribe", "scan_code", "scan_code",
                                                 "unsubscribe"]
    assert {row.customer_id for row in db.scalars(select(Event))} == {customer.id}
    assert len(db.scalars(select(Customer)).all()) == 1  # history kept, nobody deleted
    assert len(db.scalars(select(Touch)).all()) == 2
    log = [(row.event, row.scene, row.encrypted, row.outcome, row.pool_events)
           for row in db.scalars(select(OfficialAccountCallback)
                                 .order_by(OfficialAccountCallback.id))]
    assert log == [("subscribe", code["state"], True, "processed", 2),
                   ("SCAN", code["state"], True, "processed", 1),
                   ("unsubscribe", "", True, "processed", 1)]


def test_plaintext_mode_and_a_subscribe_without_scene(client: TestClient, db: Session) -> None:
    configure(db, mode="plaintext")
    assert post(client, plaintext_request(event_xml("subscribe", "oPlain0001"))) == (
        200, "success")
    assert _events(db) == [("subscribe", {"app_id": APP_ID,
                                          "official_account_event": "subscribe"})]
    customer = db.scalars(select(Customer)).one()
    assert customer.acquisition_channel_id is None
    # a text message is authentic but not an event we translate
    text = ("<xml><ToUserName>gh_x</ToUserName><FromUserName>oPlain0001</FromUserName>"
            "<CreateTime>1764547200</CreateTime><MsgType>text</MsgType>"
            "<Content>你好</Content><MsgId>1234567890123456</MsgId></xml>")
    assert post(client, plaintext_request(text)) == (200, "success")
    db.expire_all()
    outcomes = [row.outcome for row in db.scalars(
        select(OfficialAccountCallback).order_by(OfficialAccountCallback.id))]
    assert outcomes == ["processed", "ignored"]
    assert len(_events(db)) == 1


def test_compatible_mode_takes_both_and_safe_mode_refuses_plaintext(
    client: TestClient, db: Session
) -> None:
    configure(db, mode="compatible")
    assert post(client, plaintext_request(event_xml("subscribe", "oBoth0001"))) == (
        200, "success")
    assert post(client, safe_request(event_xml("subscribe", "oBoth0002"))) == (200, "success")
    configure(db, mode="safe")
    before = counts(db)
    assert post(client, plaintext_request(event_xml("subscribe", "oBoth0003"))) == (
        403, "official_account_encryption_required")
    assert counts(db) == before


def test_replays_are_acknowledged_and_do_nothing(client: TestClient, db: Session) -> None:
    configure(db)
    xml = event_xml("subscribe", "oReplay0001")
    first = safe_request(xml)
    assert post(client, first) == (200, "success")
    after = counts(db)
    assert (after["official_account_callback"], after["event"]) == (1, 1)
    assert post(client, first) == (200, "success")  # the same request
    assert post(client, safe_request(xml, nonce="another")) == (200, "success")  # re-signed
    assert counts(db) == after


def _valid() -> str:
    return event_xml("subscribe", "oRefused0001")


def _bad_signature() -> Request:
    request = safe_request(_valid())
    return Request({**request.params, "msg_signature": "0" * 40}, request.body)


def _stale() -> Request:
    return safe_request(_valid(), timestamp=str(int(time.time()) - 301))


def _wrong_receive_id() -> Request:
    return safe_request(_valid(), cipher=WeComCipher(TOKEN, AES_KEY, "wxanotherapp00001"))


def _malformed_xml() -> Request:
    return safe_request("<xml><FromUserName>oX</FromUserName><CreateTime>")


def _malformed_envelope() -> Request:
    request = safe_request(_valid())
    return Request(request.params, "<xml><Encrypt>abc")


def _wrong_aes_key() -> Request:
    other = base64.b64encode(bytes(range(200, 232))).decode()[:-1]
    return safe_request(_valid(), cipher=WeComCipher(TOKEN, other, APP_ID))


def _plaintext_bad_signature() -> Request:
    request = plaintext_request(_valid(), token="notOurToken")
    return Request({key: value for key, value in request.params.items()}, request.body)


@pytest.mark.parametrize(("forge", "status", "code"), [
    (_bad_signature, 403, "official_account_invalid_signature"),
    (_stale, 403, "official_account_stale_timestamp"),
    (_wrong_receive_id, 403, "official_account_wrong_receive_id"),
    (_malformed_xml, 400, "official_account_malformed_callback"),
    (_malformed_envelope, 400, "official_account_malformed_callback"),
    (_wrong_aes_key, 403, "official_account_decryption_failed"),
    (_plaintext_bad_signature, 403, "official_account_invalid_signature"),
], ids=["bad-signature", "stale-timestamp", "wrong-receive-id", "malformed-xml",
        "malformed-envelope", "wrong-aes-key", "plaintext-bad-signature"])
def test_bad_callbacks_are_refused_and_write_nothing(
    client: TestClient, db: Session, forge: Callable[[], Request], status: int, code: str
) -> None:
    configure(db, mode="compatible")
    before = counts(db)
    assert post(client, forge()) == (status, code)
    assert counts(db) == before


def test_nothing_configured_refuses(client: TestClient, db: Session) -> None:
    assert post(client, safe_request(_valid())) == (404, "official_account_not_configured")
    assert counts(db)["official_account_callback"] == 0


def test_a_message_sealed_by_wechatpy_is_accepted(client: TestClient, db: Session) -> None:
    """wechatpy (an independent implementation) as the sender: our safe mode opens it."""
    from wechatpy.crypto import WeChatCrypto

    configure(db)
    timestamp, nonce = str(int(time.time())), "wechatpy01"
    sealed = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(
        event_xml("subscribe", "oWechatpy0001"), nonce, timestamp)
    from defusedxml.ElementTree import fromstring

    root = fromstring(sealed)
    params = {"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
              "msg_signature": root.findtext("MsgSignature") or "",
              "signature": url_signature(TOKEN, timestamp, nonce)}
    body = f"<xml><Encrypt><![CDATA[{root.findtext('Encrypt')}]]></Encrypt></xml>"
    assert post(client, Request(params, body)) == (200, "success")
    db.expire_all()
    assert [kind for kind, _ in _events(db)] == ["subscribe"]
