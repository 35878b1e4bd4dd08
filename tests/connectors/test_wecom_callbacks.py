"""``/connectors/wecom/callback`` end to end: the simulator sends real signed and encrypted
callbacks; customers arrive attributed to channel codes, groups follow, losses are kept;
every kind of bad callback is refused and writes nothing."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.connectors.conftest import CALLBACK_URL, CORP
from tests.support.factories import make_api_key, make_store, make_user
from yutang.access.roles import Role
from yutang.connectors.wecom.crypto import WeComCipher
from yutang.connectors.wecom.messages import envelope_xml, render_xml
from yutang.connectors.wecom.models import (
    DEFAULT_WELCOME_TEXT,
    WeComCallback,
    WeComContact,
    WeComGroup,
    WeComGroupMember,
    WeComOutbox,
)
from yutang.connectors.wecom.simulator import WeComSimulator
from yutang.pool.models import Customer, Event, Identity, IdentityValue, Touch

PATH = "/connectors/wecom/callback"


def _count(db: Session, model: type[Any]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


WRITTEN = (WeComCallback, WeComContact, WeComGroup, WeComGroupMember, WeComOutbox, Event,
           Customer, Identity, IdentityValue, Touch)


def _counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {model.__tablename__: _count(db, model) for model in WRITTEN}


def _channel_code(client: TestClient, db: Session, staff: str = "wang") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    assert client.post("/api/v1/channels", headers=headers, json={
        "code": "WECOM-SH", "name": "企微活码", "kind": "wecom", "domain": "private"},
    ).status_code == 201
    response = client.post("/api/v1/channel-codes", headers=headers, json={
        "channel_code": "WECOM-SH", "store_code": "SH01", "staff_username": staff})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _events(db: Session, customer_id: int) -> list[tuple[str, dict[str, Any]]]:
    db.expire_all()
    rows = db.scalars(select(Event).where(Event.customer_id == customer_id)
                      .order_by(Event.occurred_at, Event.id))
    return [(row.type, row.properties) for row in rows]


def test_round_trip_add_join_quit_and_lose_a_customer(
    simulator: WeComSimulator, client: TestClient, db: Session
) -> None:
    store = make_store(db, "SH01")
    wang = make_user(db, "wang", Role.STAFF, store)
    code = _channel_code(client, db)
    simulator.add_staff("wang")

    check = simulator.verify_url()
    assert (check.status_code, check.text) == (200, check.plaintext)

    added = simulator.customer_adds_staff(external_userid="wmCustomerA0001", staff="wang",
                                          state=code["state"], unionid="o6_unionA0001")
    assert (added.status_code, added.text) == (200, "success")
    db.expire_all()
    event = db.scalars(select(Event).where(Event.type == "add_contact")).one()
    assert event.properties == {"staff": "wang", "wecom_change": "add_external_contact",
                                "state": code["state"], "has_welcome_code": True}
    customer = db.get_one(Customer, event.customer_id)
    assert (customer.acquisition_channel_id, customer.acquisition_code_id, customer.store_id,
            customer.acquisition_staff_id) == (event.channel_id, code["id"], store.id, wang.id)
    kinds = sorted(row.kind for row in db.scalars(
        select(Identity).where(Identity.customer_id == customer.id)))
    assert kinds == ["wechat_unionid", "wecom_external_userid"]
    relation = db.scalars(select(WeComContact)).one()
    assert (relation.status, relation.state, relation.staff_user_id, relation.external_userid,
            relation.lost_at) == ("active", code["state"], wang.id, "wmCustomerA0001", None)
    # the welcome message went out after the commit, once
    assert simulator.welcome_messages == [{"userid": "wang", "external_userid": "wmCustomerA0001",
                                           "text": DEFAULT_WELCOME_TEXT}]
    assert [item.status for item in db.scalars(select(WeComOutbox))] == ["sent"]

    simulator.create_group(chat_id="wrGroup0001", name="静安福利群", owner="wang")
    joined = simulator.join_group(chat_id="wrGroup0001", userids=["wmCustomerA0001"], how="qr")
    assert joined.text == "success"
    db.expire_all()
    group = db.scalars(select(WeComGroup)).one()
    assert (group.chat_id, group.name, group.owner_userid, group.status) == (
        "wrGroup0001", "静安福利群", "wang", "active")
    assert group.member_version == simulator.groups["wrGroup0001"].version
    members = {row.member_userid: row for row in db.scalars(select(WeComGroupMember))}
    assert {userid: (row.kind, row.status, row.join_scene) for userid, row in members.items()} \
        == {"wang": ("staff", "member", 0), "wmCustomerA0001": ("customer", "member", 3)}

    simulator.quit_group(chat_id="wrGroup0001", userids=["wmCustomerA0001"], how="left")
    db.expire_all()
    quitter = db.scalars(select(WeComGroupMember).where(WeComGroupMember.kind == "customer")).one()
    assert (quitter.status, quitter.quit_scene) == ("left", 0)
    assert quitter.left_at is not None

    lost = simulator.staff_deletes_customer(external_userid="wmCustomerA0001", staff="wang")
    assert lost.text == "success"
    db.expire_all()
    relation = db.scalars(select(WeComContact)).one()
    assert (relation.status, relation.lost_reason) == ("lost", "deleted_by_staff")
    assert relation.lost_at is not None and relation.first_added_at is not None
    # history kept: the customer, their identities and every event are still there
    assert _count(db, Customer) == 1
    assert [kind for kind, _ in _events(db, customer.id)] == [
        "add_contact", "join_group", "leave_group", "delete_contact"]
    properties = dict(_events(db, customer.id))
    assert properties["join_group"] == {"chat_id": "wrGroup0001", "scene": 3,
                                        "group_name": "静安福利群", "owner": "wang"}
    assert properties["leave_group"] == {"chat_id": "wrGroup0001", "scene": 0,
                                         "group_name": "静安福利群"}
    callbacks = [(row.change_type, row.detail, row.outcome)
                 for row in db.scalars(select(WeComCallback).order_by(WeComCallback.id))]
    assert callbacks == [("add_external_contact", "", "processed"), ("create", "", "processed"),
                         ("update", "add_member", "processed"),
                         ("update", "del_member", "processed"),
                         ("del_external_contact", "", "processed")]
    # WeCom retrying every message changes nothing
    before = _counts(db)
    for delivery in list(simulator.deliveries):
        if delivery.plaintext.startswith("<xml>"):
            assert simulator.deliver(delivery.plaintext).text == "success"
    assert _counts(db) == before
    assert len(simulator.welcome_messages) == 1


def test_every_contact_and_group_change_is_handled(
    simulator: WeComSimulator, client: TestClient, db: Session
) -> None:
    store = make_store(db, "SH01")
    make_user(db, "li", Role.STAFF, store)
    simulator.add_staff("li")
    simulator.add_staff("zhao")
    # no channel code: the staff member's store is used
    simulator.customer_adds_staff(external_userid="wmHalf", staff="li", half=True)
    db.expire_all()
    half = db.scalars(select(WeComContact)).one()
    assert half.status == "half"
    event = db.scalars(select(Event)).one()
    assert event.store_id == store.id and event.properties["half"] is True
    simulator.customer_adds_staff(external_userid="wmHalf", staff="li")
    simulator.edit_contact(external_userid="wmHalf", staff="li")
    simulator.transfer_fails(external_userid="wmHalf", staff="li", reason="customer_refused")
    db.expire_all()
    assert db.scalars(select(WeComContact)).one().status == "active"
    simulator.customer_deletes_staff(external_userid="wmHalf", staff="li")
    db.expire_all()
    relation = db.scalars(select(WeComContact)).one()
    assert (relation.status, relation.lost_reason, relation.last_change) == (
        "lost", "deleted_by_customer", "del_follow_user")
    customer_id = db.scalars(select(Event.customer_id)).first()
    assert customer_id is not None
    assert [(kind, props.get("reason")) for kind, props in _events(db, customer_id)] == [
        ("add_contact", None), ("add_contact", None), ("edit_contact", None),
        ("transfer_fail", "customer_refused"), ("leave", None)]

    simulator.customer_adds_staff(external_userid="wmG1", staff="zhao")
    simulator.customer_adds_staff(external_userid="wmG2", staff="zhao")
    simulator.create_group(chat_id="wrG", name="老客群", owner="zhao", members=["wmG1"])
    simulator.rename_group(chat_id="wrG", name="老客福利群")
    simulator.change_group_owner(chat_id="wrG", owner="li")
    db.expire_all()
    group = db.scalars(select(WeComGroup)).one()
    assert (group.name, group.owner_userid) == ("老客福利群", "li")
    # a member change WeCom's callbacks never told us of: the versions disagree, the group is
    # fetched again and the members follow
    simulator.groups["wrG"].members.pop("wmG1")
    simulator.join_group(chat_id="wrG", userids=["wmG2"], how="link")
    db.expire_all()
    states = {row.member_userid: row.status for row in db.scalars(select(WeComGroupMember))}
    assert states == {"zhao": "member", "wmG1": "left", "wmG2": "member"}
    simulator.dismiss_group(chat_id="wrG")
    db.expire_all()
    group = db.scalars(select(WeComGroup)).one()
    assert group.status == "dismissed" and group.dismissed_at is not None
    assert {row.status for row in db.scalars(select(WeComGroupMember))} == {"left"}
    group_events = db.scalars(select(Event.type).where(
        Event.type.in_(["join_group", "leave_group"])).order_by(Event.id)).all()
    # wmG1 joins with the group; wmG2 joins and wmG1 leaves (found by the re-fetch); wmG2
    # leaves when the group is dismissed
    assert group_events == ["join_group", "join_group", "leave_group", "leave_group"]
    assert {row.outcome for row in db.scalars(select(WeComCallback))} == {"processed"}


def test_a_welcome_message_that_fails_is_recorded_and_loses_nothing(
    simulator: WeComSimulator, client: TestClient, db: Session
) -> None:
    simulator.add_staff("wang")
    simulator.inject_errors("externalcontact/send_welcome_msg", [41051])
    added = simulator.customer_adds_staff(external_userid="wmLate01", staff="wang")
    assert added.text == "success"
    db.expire_all()
    item = db.scalars(select(WeComOutbox)).one()
    assert (item.status, item.attempts) == ("failed", 1)
    assert item.last_error is not None and "41051" in item.last_error
    assert simulator.welcome_messages == []
    assert _count(db, Customer) == 1 and _count(db, WeComContact) == 1
    assert db.scalars(select(WeComCallback.outcome)).one() == "processed"


def _post(client: TestClient, params: dict[str, str], body: str | bytes) -> tuple[int, str]:
    response = client.post(PATH, params=params,
                           content=body.encode() if isinstance(body, str) else body)
    return response.status_code, response.text


def _plaintext(external: str = "wmRefused01") -> str:
    return render_xml({"ToUserName": CORP.corp_id, "FromUserName": "sys",
                       "CreateTime": int(time.time()), "MsgType": "event",
                       "Event": "change_external_contact",
                       "ChangeType": "add_external_contact", "UserID": "wang",
                       "ExternalUserID": external})


def _signed_with(cipher: WeComCipher, plaintext: str,
                 timestamp: str | None = None) -> tuple[dict[str, str], str]:
    timestamp = timestamp or str(int(time.time()))
    encrypted = cipher.encrypt(plaintext, random_prefix=b"0123456789abcdef")
    params = {"msg_signature": WeComCipher(CORP.token, CORP.encoding_aes_key, CORP.corp_id)
              .sign(timestamp, "nonce1", encrypted), "timestamp": timestamp, "nonce": "nonce1"}
    return params, envelope_xml(to_user_name=CORP.corp_id, agent_id="1", encrypted=encrypted)


def _bad_signature(simulator: WeComSimulator) -> tuple[dict[str, str], str]:
    params, body = simulator.signed_request(_plaintext())
    return {**params, "msg_signature": "0" * 40}, body


def _wrong_receive_id(_: WeComSimulator) -> tuple[dict[str, str], str]:
    return _signed_with(WeComCipher(CORP.token, CORP.encoding_aes_key, "wwanothercorp"),
                        _plaintext())


def _stale(simulator: WeComSimulator) -> tuple[dict[str, str], str]:
    return simulator.signed_request(_plaintext(), timestamp=str(int(time.time()) - 301))


def _malformed_envelope(simulator: WeComSimulator) -> tuple[dict[str, str], str]:
    params, _ = simulator.signed_request(_plaintext())
    return params, "<xml><ToUserName>x</ToUserName><Encrypt>abc"


def _malformed_message(simulator: WeComSimulator) -> tuple[dict[str, str], str]:
    return simulator.signed_request("<xml><CreateTime>1764547200</CreateTime><Event>")


def _wrong_aes_key(_: WeComSimulator) -> tuple[dict[str, str], str]:
    other = base64.b64encode(bytes(range(200, 232))).decode()[:-1]
    return _signed_with(WeComCipher(CORP.token, other, CORP.corp_id), _plaintext())


@pytest.mark.parametrize(("forge", "status", "code"), [
    (_bad_signature, 403, "wecom_invalid_signature"),
    (_wrong_receive_id, 403, "wecom_wrong_receive_id"),
    (_stale, 403, "wecom_stale_timestamp"),
    (_malformed_envelope, 400, "wecom_malformed_callback"),
    (_malformed_message, 400, "wecom_malformed_callback"),
    (_wrong_aes_key, 403, "wecom_decryption_failed"),
], ids=["bad-signature", "wrong-receive-id", "stale-timestamp", "malformed-envelope",
        "malformed-message", "wrong-aes-key"])
def test_bad_callbacks_are_refused_and_write_nothing(
    simulator: WeComSimulator, client: TestClient, db: Session, forge: Any, status: int,
    code: str
) -> None:
    before = _counts(db)
    params, body = forge(simulator)
    assert _post(client, params, body) == (status, code)
    assert _counts(db) == before
    assert simulator.welcome_messages == [] and simulator.calls == []


def test_a_replayed_message_is_acknowledged_and_does_nothing(
    simulator: WeComSimulator, client: TestClient, db: Session
) -> None:
    plaintext = _plaintext("wmReplay01")
    params, body = simulator.signed_request(plaintext)
    assert _post(client, params, body) == (200, "success")
    after_first = _counts(db)
    assert (after_first["wecom_callback"], after_first["event"]) == (1, 1)
    # the same request again, and the same message signed afresh (another nonce)
    assert _post(client, params, body) == (200, "success")
    again, again_body = simulator.signed_request(plaintext, nonce="another-nonce")
    assert _post(client, again, again_body) == (200, "success")
    assert _counts(db) == after_first


def test_no_corp_configured_refuses(client: TestClient, db: Session) -> None:
    cipher = WeComCipher(CORP.token, CORP.encoding_aes_key, CORP.corp_id)
    params, body = _signed_with(cipher, _plaintext())
    assert _post(client, params, body) == (404, "wecom_not_configured")
    assert _counts(db)["wecom_callback"] == 0


def test_url_verification_answers_the_plaintext_only(
    simulator: WeComSimulator, client: TestClient
) -> None:
    cipher = simulator.cipher
    timestamp = str(int(time.time()))
    echostr = cipher.encrypt("5927782489442352469", random_prefix=b"\xfb" * 16)
    assert "+" in echostr or "/" in echostr
    signature = cipher.sign(timestamp, "n1", echostr)
    ok = client.get(PATH, params={"msg_signature": signature, "timestamp": timestamp,
                                  "nonce": "n1", "echostr": echostr})
    assert (ok.status_code, ok.content) == (200, b"5927782489442352469")
    assert ok.headers["content-type"].startswith("text/plain")
    # a '+' WeCom did not URL-encode arrives as a space and is still understood
    raw = f"{PATH}?msg_signature={signature}&timestamp={timestamp}&nonce=n1&echostr={echostr}"
    assert client.get(raw).content == b"5927782489442352469"
    forged = client.get(PATH, params={"msg_signature": "0" * 40, "timestamp": timestamp,
                                      "nonce": "n1", "echostr": echostr})
    assert (forged.status_code, forged.text) == (403, "wecom_invalid_signature")
    assert CALLBACK_URL.endswith(PATH)
