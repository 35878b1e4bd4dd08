"""An Official Account callback, from the wire to the pool.

1. ``verify_url`` (GET, reads only): the account whose token gives ``signature`` answers
   ``echostr`` as it came.
2. ``open_callback`` (POST, reads only): authenticate — ``msg_signature`` over the
   ``Encrypt`` text in safe mode (``encrypt_type=aes``), else ``signature`` —, refuse a
   timestamp outside the window, decrypt and check the receive id is the AppID, parse.
   Anything refused here writes nothing.
3. ``record_callback`` (one writer transaction): store the callback (its request and its
   content are unique keys: a replay stores and does nothing), then translate it into pool
   events resolved through OneID:

   - ``subscribe`` → ``subscribe``; with ``EventKey=qrscene_<scene>`` also ``scan_code``
     with ``state=<scene>``, which attributes the follower to the channel code whose state
     is the scene (the same path as WeCom's ``add_contact``);
   - ``SCAN`` (a follower scans a parametric code) → ``scan_code`` with ``state``;
   - ``unsubscribe`` → ``unsubscribe`` (the customer and their history stay).

   The follower is ``wechat_openid`` scoped by the AppID, plus ``wechat_unionid`` when the
   message carries ``UnionId``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.connectors.official_account import repository, service
from yutang.connectors.official_account.crypto import (
    cipher_for,
    signature_matches,
    translated,
)
from yutang.connectors.official_account.errors import (
    EncryptionRequired,
    InvalidSignature,
    MalformedCallback,
    OfficialAccountNotConfigured,
    StaleTimestamp,
)
from yutang.connectors.official_account.models import (
    MessageMode,
    OfficialAccountCallback,
    OfficialAccountOutcome,
)
from yutang.connectors.official_account.schemas import AccountKeys
from yutang.connectors.wecom.crypto import WeComCipher
from yutang.connectors.wecom.errors import InvalidSignature as WeComInvalidSignature
from yutang.connectors.wecom.messages import (
    OtherMessage,
    message_key,
    parse_envelope,
    parse_message,
)
from yutang.kit.clock import utcnow
from yutang.pool.ingestion import ingest_events
from yutang.pool.oneid import DEFAULT_POLICY, OneIdPolicy

OFFICIAL_ACCOUNT_ACTOR = Principal.system("official_account")
DEFAULT_WINDOW_SECONDS = 300
SCENE_PREFIX = "qrscene_"
SUBSCRIBE, UNSUBSCRIBE, SCAN = "subscribe", "unsubscribe", "SCAN"


@dataclass(frozen=True)
class CallbackQuery:
    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    encrypt_type: str = ""
    msg_signature: str = ""
    openid: str = ""


@dataclass(frozen=True)
class OpenedCallback:
    """An authentic, fresh, decrypted and parsed callback."""

    account: AccountKeys
    encrypted: bool
    plaintext: str
    message: OtherMessage
    request_key: str
    message_key: str


def _sha1(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


def _accounts(session: Session) -> list[AccountKeys]:
    accounts = service.active_account_keys(session)
    if not accounts:
        raise OfficialAccountNotConfigured("no Official Account is configured")
    return accounts


def _check_fresh(timestamp: str, window_seconds: int) -> None:
    try:
        sent = int(timestamp)
    except ValueError as error:
        raise MalformedCallback("the timestamp is not a number") from error
    skew = abs(utcnow().timestamp() - sent)
    if skew > window_seconds:
        raise StaleTimestamp(f"the timestamp is {int(skew)} s away from now",
                             window_seconds=window_seconds)


def _by_url_signature(accounts: list[AccountKeys], query: CallbackQuery) -> AccountKeys:
    if not (query.signature and query.timestamp and query.nonce):
        raise MalformedCallback("signature, timestamp and nonce are required")
    for account in accounts:
        if signature_matches(query.signature, account.token, query.timestamp, query.nonce):
            return account
    raise InvalidSignature("the signature does not match")


def verify_url(session: Session, *, query: CallbackQuery, echostr: str,
               window_seconds: int = DEFAULT_WINDOW_SECONDS) -> str:
    """The GET check made when the server URL is saved: answers ``echostr`` unchanged."""
    if not echostr:
        raise MalformedCallback("echostr is required")
    _by_url_signature(_accounts(session), query)
    _check_fresh(query.timestamp, window_seconds)
    return echostr


def _open_encrypted(accounts: list[AccountKeys], query: CallbackQuery,
                    body: bytes) -> tuple[AccountKeys, WeComCipher, str]:
    encrypted = translated(lambda: parse_envelope(body)).encrypted
    if not (query.msg_signature and query.timestamp and query.nonce):
        raise MalformedCallback("msg_signature, timestamp and nonce are required")
    for account in accounts:
        if not account.encoding_aes_key:
            continue
        cipher = cipher_for(token=account.token, encoding_aes_key=account.encoding_aes_key,
                            app_id=account.app_id)
        try:
            cipher.verify(query.msg_signature, query.timestamp, query.nonce, encrypted)
        except WeComInvalidSignature:
            continue
        return account, cipher, encrypted
    raise InvalidSignature("the msg_signature does not match")


def open_callback(session: Session, *, query: CallbackQuery, body: bytes,
                  window_seconds: int = DEFAULT_WINDOW_SECONDS) -> OpenedCallback:
    accounts = _accounts(session)
    encrypted = query.encrypt_type.strip().lower() == "aes"
    if encrypted:
        account, cipher, sealed = _open_encrypted(accounts, query, body)
        _check_fresh(query.timestamp, window_seconds)
        plaintext = translated(lambda: cipher.decrypt(sealed))
        signed = query.msg_signature
    else:
        account = _by_url_signature(accounts, query)
        if account.mode == MessageMode.SAFE.value:
            raise EncryptionRequired("the account is in safe mode: messages must be encrypted")
        _check_fresh(query.timestamp, window_seconds)
        try:
            plaintext = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedCallback("the body is not UTF-8 XML") from error
        signed = query.signature
    parsed = translated(lambda: parse_message(plaintext))
    if not isinstance(parsed, OtherMessage) or not parsed.header.from_user_name:
        raise MalformedCallback("<FromUserName> is required")
    return OpenedCallback(
        account=account, encrypted=encrypted, plaintext=plaintext, message=parsed,
        request_key=_sha1(account.app_id, signed.strip().lower(), query.timestamp,
                          query.nonce),
        message_key=message_key(account.app_id, parsed))


def is_replay(session: Session, opened: OpenedCallback) -> bool:
    return repository.callback_seen(session, request_key=opened.request_key,
                                    message_key=opened.message_key)


def scene_of(message: OtherMessage) -> str:
    """The QR scene: ``EventKey`` without ``qrscene_`` (subscribe) or as it is (SCAN)."""
    key = message.fields.get("EventKey", "").strip()
    if message.header.event == SUBSCRIBE:
        return key.removeprefix(SCENE_PREFIX) if key.startswith(SCENE_PREFIX) else ""
    if message.header.event == SCAN:
        return key
    return ""


def _pool_events(opened: OpenedCallback) -> list[dict[str, Any]]:
    message = opened.message
    header = message.header
    event = header.event if header.msg_type == "event" else ""
    if event not in (SUBSCRIBE, UNSUBSCRIBE, SCAN):
        return []
    identities: dict[str, Any] = {"wechat_openid": {"value": header.from_user_name,
                                                    "scope": opened.account.app_id}}
    unionid = message.fields.get("UnionId", "").strip()
    if unionid:
        identities["wechat_unionid"] = unionid
    at = datetime.fromtimestamp(header.create_time, tz=UTC)
    scene = scene_of(message)
    base = {"app_id": opened.account.app_id, "official_account_event": event}
    events: list[dict[str, Any]] = []

    def add(kind: str, properties: dict[str, Any]) -> None:
        events.append({"event_id": f"oa:{kind}:{opened.message_key}", "type": kind,
                       "occurred_at": at, "identities": identities,
                       "properties": {**base, **properties}})

    if event == SUBSCRIBE:
        add("subscribe", {"scene": scene} if scene else {})
    elif event == UNSUBSCRIBE:
        add("unsubscribe", {})
    if scene:
        add("scan_code", {"state": scene})
    return events


def record_callback(session: Session, *, opened: OpenedCallback,
                    policy: OneIdPolicy = DEFAULT_POLICY) -> int | None:
    """Store and apply the callback once; None for a replay (same request or message)."""
    header = opened.message.header
    events = _pool_events(opened)
    callback_id = repository.insert_callback(session, {
        "app_id": opened.account.app_id, "received_at": utcnow(),
        "request_key": opened.request_key, "message_key": opened.message_key,
        "created_at": datetime.fromtimestamp(header.create_time, tz=UTC),
        "encrypted": opened.encrypted, "msg_type": header.msg_type[:32],
        "event": header.event[:64], "scene": scene_of(opened.message)[:64],
        "outcome": (OfficialAccountOutcome.PROCESSED if events
                    else OfficialAccountOutcome.IGNORED).value,
        "pool_events": 0, "payload": opened.plaintext, "details": {},
    })
    if callback_id is None:
        return None
    if events:
        result = ingest_events(session, actor=OFFICIAL_ACCOUNT_ACTOR, events=events,
                               policy=policy)
        row = session.get_one(OfficialAccountCallback, callback_id)
        row.pool_events = result.accepted
        if result.rejected:
            row.outcome = OfficialAccountOutcome.PARTLY_REJECTED.value
            row.details = {"rejected": [item.model_dump() for item in result.rejected]}
        session.flush()
    return callback_id
