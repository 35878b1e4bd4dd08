"""A WeCom callback, from the wire to the pool.

1. ``open_callback`` (reads only): find the corp whose token gives the signature, reject a
   timestamp outside the window, decrypt, check the receive id is that corp, parse.
   Anything refused here writes nothing.
2. ``fetch_context`` (no transaction open): ask WeCom for the contact's details (unionid) or
   the group's (name, owner, members) through the API client; a failure only means less
   detail.
3. ``record_callback`` (one writer transaction): store the callback — its request and its
   message content are unique keys, so a replay stores nothing and does nothing — then
   translate it into pool events (``add_contact``, ``leave``, ``join_group``…, resolved
   through OneID, with stable event ids) and connector state (relations, groups, members),
   and queue the welcome message, which is sent after commit.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from yutang.connectors.wecom import repository, service
from yutang.connectors.wecom.client import ExternalContact, GroupChat, WeComClient
from yutang.connectors.wecom.crypto import WeComCipher
from yutang.connectors.wecom.errors import (
    InvalidSignature,
    MalformedCallback,
    StaleTimestamp,
    WeComApiError,
    WeComNotConfigured,
    WeComUnavailable,
)
from yutang.connectors.wecom.messages import (
    CallbackMessage,
    ChatChange,
    ChatUpdate,
    ContactChange,
    ExternalChatEvent,
    ExternalContactEvent,
    message_key,
    parse_envelope,
    parse_message,
)
from yutang.connectors.wecom.models import (
    CallbackOutcome,
    ContactStatus,
    GroupStatus,
    LostReason,
    MemberKind,
    MemberStatus,
    WeComCallback,
    WeComContact,
    WeComGroup,
    WeComGroupMember,
)
from yutang.connectors.wecom.schemas import CorpKeys
from yutang.kit.clock import utcnow
from yutang.kit.crypto import get_protector
from yutang.org import service as org_service
from yutang.pool import channels
from yutang.pool.ingestion import ingest_events
from yutang.pool.oneid import DEFAULT_POLICY, OneIdPolicy

log = logging.getLogger(__name__)

DEFAULT_WINDOW_SECONDS = 300
EXTERNAL_USERID = "wecom_external_userid"
UNIONID = "wechat_unionid"


@dataclass(frozen=True)
class CallbackQuery:
    msg_signature: str
    timestamp: str
    nonce: str


@dataclass(frozen=True)
class OpenedCallback:
    """An authentic, fresh, decrypted and parsed callback."""

    corp: CorpKeys
    query: CallbackQuery
    plaintext: str
    message: CallbackMessage
    request_key: str
    message_key: str


@dataclass(frozen=True)
class Context:
    """What WeCom's API added to a callback (either may be missing)."""

    contact: ExternalContact | None = None
    chat: GroupChat | None = None


@dataclass(frozen=True)
class Recorded:
    replay: bool
    outcome: str = ""
    callback_id: int | None = None
    outbox_ids: list[int] = field(default_factory=list)
    corp_id: str = ""


def _blind(value: str) -> str:
    return get_protector().blind_index(value, EXTERNAL_USERID)


def _sha1(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


# --- 1. open ---------------------------------------------------------------------------------


def _corp_for(corps: Sequence[CorpKeys], query: CallbackQuery,
              encrypted: str) -> tuple[CorpKeys, WeComCipher]:
    if not corps:
        raise WeComNotConfigured("no WeCom corp is configured")
    if not (query.msg_signature and query.timestamp and query.nonce):
        raise MalformedCallback("msg_signature, timestamp and nonce are required")
    for corp in corps:
        cipher = WeComCipher(token=corp.token, encoding_aes_key=corp.encoding_aes_key,
                             receive_id=corp.corp_id)
        try:
            cipher.verify(query.msg_signature, query.timestamp, query.nonce, encrypted)
        except InvalidSignature:
            continue
        return corp, cipher
    raise InvalidSignature("the msg_signature does not match")


def _check_fresh(timestamp: str, window_seconds: int) -> None:
    try:
        sent = int(timestamp)
    except ValueError as error:
        raise MalformedCallback("the timestamp is not a number") from error
    skew = abs(utcnow().timestamp() - sent)
    if skew > window_seconds:
        raise StaleTimestamp(f"the timestamp is {int(skew)} s away from now",
                             window_seconds=window_seconds)


def verify_url(session: Session, *, query: CallbackQuery, echostr: str,
               window_seconds: int = DEFAULT_WINDOW_SECONDS) -> str:
    """The GET check WeCom makes when the URL is saved: answers the decrypted ``echostr``."""
    echostr = echostr.replace(" ", "+")  # a '+' that was not URL-encoded reads as a space
    if not echostr:
        raise MalformedCallback("echostr is required")
    _, cipher = _corp_for(service.active_corp_keys(session), query, echostr)
    _check_fresh(query.timestamp, window_seconds)
    return cipher.decrypt(echostr)


def open_callback(session: Session, *, query: CallbackQuery, body: bytes,
                  window_seconds: int = DEFAULT_WINDOW_SECONDS) -> OpenedCallback:
    envelope = parse_envelope(body)
    corp, cipher = _corp_for(service.active_corp_keys(session), query, envelope.encrypted)
    _check_fresh(query.timestamp, window_seconds)
    plaintext = cipher.decrypt(envelope.encrypted)
    message = parse_message(plaintext)
    return OpenedCallback(
        corp=corp, query=query, plaintext=plaintext, message=message,
        request_key=_sha1(corp.corp_id, query.msg_signature, query.timestamp, query.nonce),
        message_key=message_key(corp.corp_id, message),
    )


def is_replay(session: Session, opened: OpenedCallback) -> bool:
    return repository.callback_seen(session, request_key=opened.request_key,
                                    message_key=opened.message_key)


# --- 2. context ------------------------------------------------------------------------------


def fetch_context(client: WeComClient | None, opened: OpenedCallback) -> Context:
    message = opened.message
    if client is None:
        return Context()
    try:
        if isinstance(message, ExternalContactEvent) and message.change_type in (
            ContactChange.ADD, ContactChange.ADD_HALF
        ):
            return Context(contact=client.get_external_contact(message.external_user_id))
        if isinstance(message, ExternalChatEvent) and message.change_type != ChatChange.DISMISS:
            return Context(chat=client.get_group_chat(message.chat_id))
    except (WeComApiError, WeComUnavailable) as error:
        log.warning("WeCom details for a callback could not be fetched: %s", error.message)
    return Context()


# --- 3. record and translate -----------------------------------------------------------------


def _moment(create_time: int) -> datetime:
    return datetime.fromtimestamp(create_time, tz=UTC)


@dataclass
class Translation:
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    ignored: bool = False


def record_callback(session: Session, *, opened: OpenedCallback, context: Context,
                    policy: OneIdPolicy = DEFAULT_POLICY) -> Recorded:
    """Store and apply the callback once; a replay (same request or same message) is a no-op."""
    message = opened.message
    header = message.header
    callback_id = repository.insert_callback(session, {
        "corp_id": opened.corp.corp_id, "received_at": utcnow(),
        "request_key": opened.request_key, "message_key": opened.message_key,
        "created_at": _moment(header.create_time), "event": header.event[:64],
        "change_type": getattr(message, "change_type", "")[:64],
        "detail": getattr(message, "update_detail", "")[:32],
        "outcome": CallbackOutcome.PROCESSED.value, "pool_events": 0,
        "payload": opened.plaintext, "details": {},
    })
    if callback_id is None:
        return Recorded(replay=True, corp_id=opened.corp.corp_id)
    translation = Translation()
    if isinstance(message, ExternalContactEvent):
        _contact_change(session, opened, message, context, translation)
    elif isinstance(message, ExternalChatEvent):
        _chat_change(session, opened, message, context, translation)
    else:
        translation.ignored = True
    row = session.get_one(WeComCallback, callback_id)
    if translation.events:
        result = ingest_events(session, actor=service.WECOM_ACTOR, events=translation.events,
                               policy=policy)
        row.pool_events = result.accepted
        if result.rejected:
            row.outcome = CallbackOutcome.PARTLY_REJECTED.value
            row.details = {"rejected": [item.model_dump() for item in result.rejected]}
    elif translation.ignored:
        row.outcome = CallbackOutcome.IGNORED.value
    session.flush()
    return Recorded(replay=False, outcome=row.outcome, callback_id=callback_id,
                    outbox_ids=translation.outbox_ids, corp_id=opened.corp.corp_id)


def _event_id(*parts: str) -> str:
    return "wecom:" + _sha1(*parts)


def _pool_event(event_id: str, kind: str, at: datetime, identities: dict[str, str],
                properties: dict[str, Any], store: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"event_id": event_id, "type": kind, "occurred_at": at,
                             "identities": identities, "properties": properties}
    if store is not None:
        event["store"] = store
    return event


CONTACT_EVENT_TYPES = {
    ContactChange.ADD: "add_contact",
    ContactChange.ADD_HALF: "add_contact",
    ContactChange.EDIT: "edit_contact",
    ContactChange.DELETE_BY_STAFF: "delete_contact",
    ContactChange.DELETE_BY_CUSTOMER: "leave",
    ContactChange.TRANSFER_FAIL: "transfer_fail",
}


def _staff_store_code(session: Session, store_id: int | None) -> str | None:
    return None if store_id is None else org_service.get_store(session, store_id=store_id).code


def _contact_change(session: Session, opened: OpenedCallback, message: ExternalContactEvent,
                    context: Context, translation: Translation) -> None:
    corp_id = opened.corp.corp_id
    at = _moment(message.header.create_time)
    change = ContactChange(message.change_type)
    staff = repository.staff_by_wecom_userid(session, {message.user_id}).get(message.user_id)
    identities = {EXTERNAL_USERID: message.external_user_id}
    if context.contact is not None and context.contact.unionid:
        identities[UNIONID] = context.contact.unionid
    properties: dict[str, Any] = {"staff": message.user_id, "wecom_change": change.value}
    store = None
    if change in (ContactChange.ADD, ContactChange.ADD_HALF):
        properties["state"] = message.state
        properties["has_welcome_code"] = bool(message.welcome_code)
        if change is ContactChange.ADD_HALF:
            properties["half"] = True
        known_code = message.state and channels.codes_for_states(session, {message.state})
        if not known_code and staff is not None:
            store = _staff_store_code(session, staff[1])
    elif change is ContactChange.DELETE_BY_STAFF and message.source:
        properties["source"] = message.source
    elif change is ContactChange.TRANSFER_FAIL:
        properties["reason"] = message.fail_reason
    translation.events.append(_pool_event(
        _event_id(opened.message_key), CONTACT_EVENT_TYPES[change], at, identities, properties,
        store))
    _apply_relation(session, corp_id, message, change, at, staff[0] if staff else None)
    if change in (ContactChange.ADD, ContactChange.ADD_HALF) and message.welcome_code:
        item = service.queue_welcome_message(session, corp_id=corp_id,
                                             welcome_code=message.welcome_code,
                                             staff_userid=message.user_id)
        translation.outbox_ids.append(item.id)


def _apply_relation(session: Session, corp_id: str, message: ExternalContactEvent,
                    change: ContactChange, at: datetime, staff_user_id: int | None) -> None:
    index = _blind(message.external_user_id)
    relation = repository.contact(session, corp_id=corp_id, staff_userid=message.user_id,
                                  external_userid_index=index)
    if relation is None:
        relation = WeComContact(corp_id=corp_id, staff_userid=message.user_id,
                                external_userid_index=index,
                                external_userid=message.external_user_id,
                                status=ContactStatus.ACTIVE.value, state="",
                                last_change=change.value)
        session.add(relation)
    relation.staff_user_id = staff_user_id or relation.staff_user_id
    relation.last_change = change.value
    if change in (ContactChange.ADD, ContactChange.ADD_HALF):
        half = change is ContactChange.ADD_HALF
        confirmed = relation.status == ContactStatus.ACTIVE.value and relation.added_at
        relation.status = (ContactStatus.HALF.value if half and not confirmed
                           else ContactStatus.ACTIVE.value)
        relation.state = message.state or relation.state
        relation.first_added_at = relation.first_added_at or at
        relation.added_at = at
        relation.lost_at = None
        relation.lost_reason = None
    elif change in (ContactChange.DELETE_BY_STAFF, ContactChange.DELETE_BY_CUSTOMER):
        relation.status = ContactStatus.LOST.value
        relation.lost_at = at
        if change is ContactChange.DELETE_BY_CUSTOMER:
            relation.lost_reason = LostReason.DELETED_BY_CUSTOMER.value
        elif message.source == "DELETE_BY_TRANSFER":
            relation.lost_reason = LostReason.TRANSFERRED.value
        else:
            relation.lost_reason = LostReason.DELETED_BY_STAFF.value
    session.flush()


# --- groups ----------------------------------------------------------------------------------


@dataclass
class _GroupWork:
    session: Session
    opened: OpenedCallback
    group: WeComGroup
    members: dict[str, WeComGroupMember]
    staff: set[str]
    unionids: dict[str, str]
    translation: Translation


def _member_kind(work: _GroupWork, userid: str, api_type: int | None = None) -> MemberKind:
    if api_type is not None:
        return MemberKind.STAFF if api_type == 1 else MemberKind.CUSTOMER
    if userid in work.staff or userid == work.group.owner_userid:
        return MemberKind.STAFF
    return MemberKind.CUSTOMER


def _identities(work: _GroupWork, userid: str) -> dict[str, str]:
    identities = {EXTERNAL_USERID: userid}
    if work.unionids.get(userid):
        identities[UNIONID] = work.unionids[userid]
    return identities


def _join(work: _GroupWork, userid: str, *, scene: int | None, at: datetime, event_id: str,
          api_type: int | None = None) -> None:
    index = _blind(userid)
    member = work.members.get(index)
    if member is not None and member.status == MemberStatus.MEMBER.value:
        return
    kind = _member_kind(work, userid, api_type)
    if member is None:
        member = WeComGroupMember(group_id=work.group.id, member_index=index,
                                  member_userid=userid, kind=kind.value,
                                  status=MemberStatus.MEMBER.value, joined_at=at)
        work.session.add(member)
        work.members[index] = member
    member.status = MemberStatus.MEMBER.value
    member.joined_at, member.join_scene = at, scene
    member.left_at = member.quit_scene = None
    if member.kind == MemberKind.CUSTOMER.value:
        work.translation.events.append(_pool_event(
            event_id, "join_group", at, _identities(work, userid),
            {"chat_id": work.group.chat_id, "scene": scene, "group_name": work.group.name,
             "owner": work.group.owner_userid}))


def _leave(work: _GroupWork, userid: str, *, scene: int | None, at: datetime,
           event_id: str, reason: str = "") -> None:
    member = work.members.get(_blind(userid))
    if member is None or member.status != MemberStatus.MEMBER.value:
        return
    member.status = MemberStatus.LEFT.value
    member.left_at, member.quit_scene = at, scene
    if member.kind == MemberKind.CUSTOMER.value:
        properties: dict[str, Any] = {"chat_id": work.group.chat_id, "scene": scene,
                                      "group_name": work.group.name}
        if reason:
            properties["reason"] = reason
        work.translation.events.append(_pool_event(
            event_id, "leave_group", at, _identities(work, userid), properties))


API_JOIN_SCENE_TO_EVENT = {1: 0, 2: 0, 3: 3}
"""``groupchat/get`` join scenes (1 invite, 2 link, 3 QR) in the callback's codes (0, 3)."""


def _sync_members(work: _GroupWork, chat: GroupChat, at: datetime) -> None:
    """Make the members what WeCom's API says: after a create, or after missed events."""
    present = {member.userid for member in chat.members}
    for listed in chat.members:
        joined = _moment(listed.join_time) if listed.join_time else at
        _join(work, listed.userid, scene=API_JOIN_SCENE_TO_EVENT.get(listed.join_scene),
              at=joined, api_type=listed.type,
              event_id=_event_id(work.group.chat_id, listed.userid, str(listed.join_time)))
    for member in list(work.members.values()):
        if member.status == MemberStatus.MEMBER.value and member.member_userid not in present:
            _leave(work, member.member_userid, scene=None, at=at, reason="missed_event",
                   event_id=_event_id(work.opened.message_key, member.member_userid))


def _chat_change(session: Session, opened: OpenedCallback, message: ExternalChatEvent,
                 context: Context, translation: Translation) -> None:
    corp_id = opened.corp.corp_id
    at = _moment(message.header.create_time)
    chat = context.chat if context.chat is not None and context.chat.chat_id == message.chat_id \
        else None
    group = repository.group(session, corp_id=corp_id, chat_id=message.chat_id)
    if group is None:
        group = WeComGroup(corp_id=corp_id, chat_id=message.chat_id,
                           created_at=_moment(chat.create_time) if chat and chat.create_time
                           else at)
        session.add(group)
        session.flush()
    missed = bool(group.member_version and message.last_member_version
                  and message.last_member_version != group.member_version)
    if chat is not None:
        group.name, group.owner_userid = chat.name, chat.owner
    members = repository.group_members(session, group.id)
    candidates = set(message.members) | ({chat.owner} if chat else set())
    work = _GroupWork(
        session=session, opened=opened, group=group, members=members,
        staff=set(repository.staff_by_wecom_userid(session, candidates)),
        unionids={member.userid: member.unionid for member in chat.members} if chat else {},
        translation=translation)
    api_types = {member.userid: member.type for member in chat.members} if chat else {}
    change = ChatChange(message.change_type)
    if change is ChatChange.DISMISS:
        group.status = GroupStatus.DISMISSED.value
        group.dismissed_at = at
        for member in list(members.values()):
            _leave(work, member.member_userid, scene=None, at=at, reason="dismissed",
                   event_id=_event_id(opened.message_key, member.member_userid))
    elif change is ChatChange.CREATE or (missed and chat is not None):
        group.status = GroupStatus.ACTIVE.value
        if chat is not None:
            _sync_members(work, chat, at)
    elif message.update_detail == ChatUpdate.ADD_MEMBER:
        for userid in message.members:
            _join(work, userid, scene=message.join_scene, at=at, api_type=api_types.get(userid),
                  event_id=_event_id(opened.message_key, userid))
    elif message.update_detail == ChatUpdate.DEL_MEMBER:
        for userid in message.members:
            _leave(work, userid, scene=message.quit_scene, at=at,
                   event_id=_event_id(opened.message_key, userid))
    if message.current_member_version:
        group.member_version = message.current_member_version
    elif chat is not None and chat.member_version:
        group.member_version = chat.member_version
    session.flush()
