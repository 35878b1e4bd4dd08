"""Callback XML (doc 92130, 96361): parsed safely into typed messages, and written back.

Parsing goes through ``defusedxml`` (no DTDs, no entities), so a hostile body cannot expand
or reach files. Unknown events are kept as ``OtherMessage`` with their fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from yutang.connectors.wecom.errors import MalformedCallback

MAX_XML_BYTES = 256 * 1024


class ContactChange(StrEnum):
    """``ChangeType`` of ``Event=change_external_contact``."""

    ADD = "add_external_contact"
    ADD_HALF = "add_half_external_contact"
    EDIT = "edit_external_contact"
    DELETE_BY_STAFF = "del_external_contact"
    DELETE_BY_CUSTOMER = "del_follow_user"
    TRANSFER_FAIL = "transfer_fail"


class ChatChange(StrEnum):
    """``ChangeType`` of ``Event=change_external_chat``."""

    CREATE = "create"
    UPDATE = "update"
    DISMISS = "dismiss"


class ChatUpdate(StrEnum):
    """``UpdateDetail`` of a ``change_external_chat`` update."""

    ADD_MEMBER = "add_member"
    DEL_MEMBER = "del_member"
    CHANGE_OWNER = "change_owner"
    CHANGE_NAME = "change_name"
    CHANGE_NOTICE = "change_notice"


CONTACT_EVENT = "change_external_contact"
CHAT_EVENT = "change_external_chat"


@dataclass(frozen=True)
class Envelope:
    """The outer POST body: ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``."""

    to_user_name: str
    agent_id: str
    encrypted: str


@dataclass(frozen=True)
class Header:
    to_user_name: str
    from_user_name: str
    create_time: int
    msg_type: str
    event: str


@dataclass(frozen=True)
class ExternalContactEvent:
    header: Header
    change_type: str
    user_id: str
    external_user_id: str
    state: str = ""
    welcome_code: str = ""
    source: str = ""
    fail_reason: str = ""

    def identity_parts(self) -> tuple[str, ...]:
        return (self.change_type, self.user_id, self.external_user_id)


@dataclass(frozen=True)
class ExternalChatEvent:
    header: Header
    change_type: str
    chat_id: str
    update_detail: str = ""
    join_scene: int | None = None
    quit_scene: int | None = None
    member_change_count: int | None = None
    members: tuple[str, ...] = ()
    last_member_version: str = ""
    current_member_version: str = ""

    def identity_parts(self) -> tuple[str, ...]:
        return (self.change_type, self.chat_id, self.update_detail,
                self.current_member_version, *sorted(self.members))


@dataclass(frozen=True)
class OtherMessage:
    """A message or event the connector records but does not translate."""

    header: Header
    fields: dict[str, str] = field(default_factory=dict)

    def identity_parts(self) -> tuple[str, ...]:
        return tuple(f"{name}={value}" for name, value in sorted(self.fields.items()))


CallbackMessage = ExternalContactEvent | ExternalChatEvent | OtherMessage


def message_key(corp_id: str, message: CallbackMessage) -> str:
    """A stable identity of the message's content, for dropping replays.

    WeCom's documented ``FromUserName + CreateTime`` loses events (``FromUserName`` is always
    ``sys`` and two customers can be added in the same second), so the key covers the
    change type and every id the event carries.
    """
    header = message.header
    parts = (corp_id, header.to_user_name, str(header.create_time), header.msg_type,
             header.event, *message.identity_parts())
    return hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()


# --- parsing ---------------------------------------------------------------------------------


def _parse(text: str | bytes) -> Element:
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > MAX_XML_BYTES:
        raise MalformedCallback("the XML is too large")
    try:
        root = fromstring(raw, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise MalformedCallback(f"the XML cannot be parsed: {type(error).__name__}") from error
    if root.tag != "xml":
        raise MalformedCallback("the root element is not <xml>")
    return root


def _text(root: Element, name: str) -> str:
    found = root.find(name)
    return (found.text or "").strip() if found is not None else ""


def _int(root: Element, name: str, *, required: bool = False) -> int | None:
    text = _text(root, name)
    if not text:
        if required:
            raise MalformedCallback(f"<{name}> is missing")
        return None
    try:
        return int(text)
    except ValueError as error:
        raise MalformedCallback(f"<{name}> is not a number") from error


def parse_envelope(body: str | bytes) -> Envelope:
    root = _parse(body)
    encrypted = _text(root, "Encrypt")
    if not encrypted:
        raise MalformedCallback("<Encrypt> is missing")
    return Envelope(to_user_name=_text(root, "ToUserName"), agent_id=_text(root, "AgentID"),
                    encrypted=encrypted)


def _members(root: Element) -> tuple[str, ...]:
    listing = root.find("MemChangeList")
    if listing is None:
        return ()
    items = [(item.text or "").strip() for item in listing.findall("Item")]
    if not items and listing.text:  # older payloads: a comma-separated list
        items = [part.strip() for part in listing.text.split(",")]
    return tuple(item for item in items if item)


def parse_message(text: str) -> CallbackMessage:
    """The decrypted message as a typed event."""
    root = _parse(text)
    create_time = _int(root, "CreateTime", required=True)
    assert create_time is not None
    header = Header(to_user_name=_text(root, "ToUserName"),
                    from_user_name=_text(root, "FromUserName"), create_time=create_time,
                    msg_type=_text(root, "MsgType"), event=_text(root, "Event"))
    change_type = _text(root, "ChangeType")
    if header.event == CONTACT_EVENT and change_type in set(ContactChange):
        user_id, external_user_id = _text(root, "UserID"), _text(root, "ExternalUserID")
        if not user_id or not external_user_id:
            raise MalformedCallback("<UserID> and <ExternalUserID> are required")
        return ExternalContactEvent(
            header=header, change_type=change_type, user_id=user_id,
            external_user_id=external_user_id, state=_text(root, "State"),
            welcome_code=_text(root, "WelcomeCode"), source=_text(root, "Source"),
            fail_reason=_text(root, "FailReason"),
        )
    if header.event == CHAT_EVENT and change_type in set(ChatChange):
        chat_id = _text(root, "ChatId")
        if not chat_id:
            raise MalformedCallback("<ChatId> is required")
        return ExternalChatEvent(
            header=header, change_type=change_type, chat_id=chat_id,
            update_detail=_text(root, "UpdateDetail"), join_scene=_int(root, "JoinScene"),
            quit_scene=_int(root, "QuitScene"), member_change_count=_int(root, "MemChangeCnt"),
            members=_members(root), last_member_version=_text(root, "LastMemVer"),
            current_member_version=_text(root, "CurMemVer"),
        )
    fields = {child.tag: (child.text or "").strip() for child in root if len(child) == 0}
    return OtherMessage(header=header, fields=fields)


# --- writing ---------------------------------------------------------------------------------

XmlValue = str | int | Sequence[str]


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_xml(fields: Mapping[str, XmlValue]) -> str:
    """``<xml>`` with strings in CDATA, numbers bare and lists as ``<Item>`` children."""
    parts = ["<xml>"]
    for name, value in fields.items():
        if isinstance(value, bool):
            raise TypeError("booleans have no XML form here")
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        elif isinstance(value, str):
            parts.append(f"<{name}>{_cdata(value)}</{name}>")
        else:
            items = "".join(f"<Item>{_cdata(item)}</Item>" for item in value)
            parts.append(f"<{name}>{items}</{name}>")
    parts.append("</xml>")
    return "".join(parts)


def envelope_xml(*, to_user_name: str, agent_id: str, encrypted: str) -> str:
    return render_xml({"ToUserName": to_user_name, "AgentID": agent_id, "Encrypt": encrypted})


def passive_reply_xml(*, encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
    """A passive reply: ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
    return render_xml({"Encrypt": encrypted, "MsgSignature": signature,
                       "TimeStamp": timestamp, "Nonce": nonce})
