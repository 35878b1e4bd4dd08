"""Sending Official Account callbacks as WeChat does: plaintext or safe mode, signed."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM, make_api_key
from yutang.access.roles import Role
from yutang.connectors.official_account import service
from yutang.connectors.official_account.crypto import url_signature
from yutang.connectors.official_account.models import OfficialAccountCallback
from yutang.connectors.official_account.schemas import AccountConfigIn
from yutang.connectors.wecom.crypto import WeComCipher
from yutang.connectors.wecom.messages import render_xml
from yutang.pool.models import Customer, Event, Identity, IdentityValue, Touch

PATH = "/connectors/official-account/callback"
APP_ID = "wx5823bf96d3bd56c7"
ORIGINAL_ID = "gh_yutang0000001"
TOKEN = "oaToken2026"
AES_KEY = base64.b64encode(bytes(range(100, 132))).decode()[:-1]
SECRET = "oa-app-secret-000001"


def configure(db: Session, *, mode: str = "safe", app_id: str = APP_ID) -> None:
    service.configure_account(db, actor=SYSTEM, data=AccountConfigIn(
        app_id=app_id, token=TOKEN, encoding_aes_key=AES_KEY if mode != "plaintext" else "",
        secret=SECRET, mode=mode))


def event_xml(event: str, openid: str, *, event_key: str = "", create_time: int | None = None,
              unionid: str = "") -> str:
    fields: dict[str, str | int] = {
        "ToUserName": ORIGINAL_ID, "FromUserName": openid,
        "CreateTime": create_time or int(time.time()), "MsgType": "event", "Event": event}
    if event_key:
        fields["EventKey"] = event_key
        fields["Ticket"] = "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Bra"
    if unionid:
        fields["UnionId"] = unionid
    return render_xml(fields)


@dataclass
class Request:
    params: dict[str, str]
    body: str


def plaintext_request(xml: str, *, token: str = TOKEN, timestamp: str | None = None,
                      nonce: str | None = None) -> Request:
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(6)
    return Request({"signature": url_signature(token, timestamp, nonce),
                    "timestamp": timestamp, "nonce": nonce, "openid": "o-any"}, xml)


def safe_request(xml: str, *, cipher: WeComCipher | None = None, timestamp: str | None = None,
                 nonce: str | None = None) -> Request:
    cipher = cipher or WeComCipher(TOKEN, AES_KEY, APP_ID)
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or secrets.token_hex(6)
    encrypted = cipher.encrypt(xml)
    return Request({"signature": url_signature(cipher.token, timestamp, nonce),
                    "timestamp": timestamp, "nonce": nonce, "openid": "o-any",
                    "encrypt_type": "aes",
                    "msg_signature": cipher.sign(timestamp, nonce, encrypted)},
                   render_xml({"ToUserName": ORIGINAL_ID, "Encrypt": encrypted}))


def post(client: TestClient, request: Request) -> tuple[int, str]:
    response = client.post(PATH, params=request.params, content=request.body.encode(),
                           headers={"Content-Type": "text/xml"})
    return response.status_code, response.text


WRITTEN = (OfficialAccountCallback, Event, Customer, Identity, IdentityValue, Touch)


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {model.__tablename__: int(db.scalar(select(func.count()).select_from(model)) or 0)
            for model in WRITTEN}


def channel_code(client: TestClient, db: Session, store: str = "SH01") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {make_api_key(db, Role.HQ_OPERATOR)}"}
    assert client.post("/api/v1/channels", headers=headers, json={
        "code": "OA-POSTER", "name": "公众号海报", "kind": "official_account",
        "domain": "private"}).status_code == 201
    response = client.post("/api/v1/channel-codes", headers=headers, json={
        "channel_code": "OA-POSTER", "store_code": store})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
