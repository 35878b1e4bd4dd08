"""WeCom use cases: the corp's settings, contact and join ways for channel codes, mass sends,
and the side effects queued by callbacks (welcome messages), run after commit."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.connectors.masking import mask_secret
from yutang.connectors.wecom import repository
from yutang.connectors.wecom.client import (
    MAX_CUSTOMERS_PER_TASK,
    MAX_GROUPS_PER_TASK,
    ContactWay,
    JoinWay,
    WeComClient,
)
from yutang.connectors.wecom.crypto import aes_key_from
from yutang.connectors.wecom.errors import (
    InvalidWeComConfig,
    WeComApiError,
    WeComNotConfigured,
    WeComUnavailable,
)
from yutang.connectors.wecom.models import (
    DEFAULT_WELCOME_TEXT,
    OutboxStatus,
    WayKind,
    WeComCorp,
    WeComMessageTask,
    WeComOutbox,
    WeComWay,
)
from yutang.connectors.wecom.schemas import (
    CallbackRead,
    CorpConfigIn,
    CorpKeys,
    CorpRead,
    MassSendResult,
)
from yutang.kit.clock import utcnow
from yutang.kit.db import unit_of_work
from yutang.pool import channels

log = logging.getLogger(__name__)

WECOM_ACTOR = Principal.system("wecom")
"""Who acts when WeCom tells yutang something (callbacks)."""
CONFIGURE_PERMISSION = Permission.API_KEYS_MANAGE
"""Connector secrets are integration credentials, like API keys: owners only."""
WELCOME_MESSAGE = "welcome_message"
_TOKEN = re.compile(r"^[A-Za-z0-9]{1,32}$")


def configure_corp(session: Session, *, actor: Principal, data: CorpConfigIn) -> WeComCorp:
    """Create or replace a corp's settings; the token, AES key and secret are encrypted."""
    access_service.require(actor, CONFIGURE_PERMISSION)
    corp_id = data.corp_id.strip()
    if not corp_id or len(corp_id) > 64:
        raise InvalidWeComConfig("the corp id is required (at most 64 characters)")
    if not _TOKEN.match(data.token.strip()):
        raise InvalidWeComConfig("the token is 1 to 32 letters or digits")
    aes_key_from(data.encoding_aes_key)
    if not data.secret.strip():
        raise InvalidWeComConfig("the secret is required")
    corp = repository.corp_by_corp_id(session, corp_id)
    action = "wecom.reconfigure" if corp is not None else "wecom.configure"
    if corp is None:
        corp = WeComCorp(corp_id=corp_id)
        session.add(corp)
    corp.token = data.token.strip()
    corp.encoding_aes_key = data.encoding_aes_key.strip()
    corp.secret = data.secret.strip()
    corp.agent_id = data.agent_id.strip()
    corp.welcome_text = data.welcome_text or corp.welcome_text or DEFAULT_WELCOME_TEXT
    corp.is_active = True
    session.flush()
    access_service.record_audit(session, actor=actor, action=action, entity_type="wecom_corp",
                                entity_id=corp.id,
                                details={"corp_id": corp_id, "agent_id": corp.agent_id})
    return corp


def present_corp(corp: WeComCorp) -> CorpRead:
    return CorpRead(corp_id=corp.corp_id, agent_id=corp.agent_id,
                    token=mask_secret(corp.token),
                    encoding_aes_key=mask_secret(corp.encoding_aes_key),
                    secret=mask_secret(corp.secret),
                    welcome_text=corp.welcome_text, is_active=corp.is_active,
                    updated_at=corp.updated_at)


def keys_of(corp: WeComCorp) -> CorpKeys:
    return CorpKeys(corp_id=corp.corp_id, agent_id=corp.agent_id, token=corp.token,
                    encoding_aes_key=corp.encoding_aes_key, secret=corp.secret,
                    welcome_text=corp.welcome_text)


def active_corp_keys(session: Session) -> list[CorpKeys]:
    return [keys_of(corp) for corp in repository.active_corps(session)]


def corp_keys(session: Session, *, corp_id: str | None = None) -> CorpKeys:
    """One corp's keys: the one named, or the only one configured."""
    if corp_id is not None:
        corp = repository.corp_by_corp_id(session, corp_id)
        if corp is None or not corp.is_active:
            raise WeComNotConfigured(f"no WeCom corp {corp_id!r} is configured")
        return keys_of(corp)
    corps = repository.active_corps(session)
    if not corps:
        raise WeComNotConfigured("no WeCom corp is configured: run `yutang wecom configure`")
    if len(corps) > 1:
        raise WeComNotConfigured("several WeCom corps are configured: name one")
    return keys_of(corps[0])


def staff_userids(session: Session) -> list[str]:
    """Every active user's WeCom user id (their username unless set otherwise)."""
    return repository.staff_userids(session)


def recent_callbacks(session: Session, *, actor: Principal, limit: int = 100) -> list[CallbackRead]:
    access_service.require(actor, CONFIGURE_PERMISSION)
    return [CallbackRead.model_validate(row, from_attributes=True)
            for row in repository.recent_callbacks(session, limit)]


# --- contact ways and join ways --------------------------------------------------------------


def publish_contact_way(session: Session, *, actor: Principal, client: WeComClient,
                        state: str, staff_userids: Sequence[str], remark: str = "") -> WeComWay:
    """Make a channel code's ``state`` a real WeCom 「联系我」 code; keeps its ``config_id``."""
    access_service.require(actor, Permission.CHANNEL_CODES_MANAGE)
    way = ContactWay(users=list(staff_userids), state=state,
                     type=1 if len(staff_userids) == 1 else 2, remark=remark)
    created = client.add_contact_way(way)
    row = WeComWay(corp_id=client.corp_id, kind=WayKind.CONTACT_WAY.value,
                   config_id=created.config_id, state=state, qr_code=created.qr_code,
                   targets=list(staff_userids))
    session.add(row)
    session.flush()
    access_service.record_audit(session, actor=actor, action="wecom.contact_way.create",
                                entity_type="wecom_way", entity_id=row.id,
                                details={"state": state, "config_id": created.config_id})
    return row


def change_contact_way(session: Session, *, actor: Principal, client: WeComClient,
                       way: WeComWay, state: str | None = None,
                       staff_userids: Sequence[str] | None = None) -> WeComWay:
    access_service.require(actor, Permission.CHANNEL_CODES_MANAGE)
    client.update_contact_way(way.config_id, state=state, users=staff_userids)
    before = {"state": way.state, "targets": list(way.targets)}
    if state is not None:
        way.state = state
    if staff_userids is not None:
        way.targets = list(staff_userids)
    session.flush()
    access_service.record_audit(session, actor=actor, action="wecom.contact_way.update",
                                entity_type="wecom_way", entity_id=way.id,
                                details={"before": before, "state": way.state})
    return way


def publish_join_way(session: Session, *, actor: Principal, client: WeComClient, state: str,
                     chat_ids: Sequence[str], remark: str = "") -> WeComWay:
    """A group code (several groups behind one code) whose joins carry ``state``."""
    access_service.require(actor, Permission.CHANNEL_CODES_MANAGE)
    config_id = client.add_join_way(JoinWay(chat_ids=list(chat_ids), state=state,
                                            remark=remark))
    qr_code = client.get_join_way(config_id).qr_code
    row = WeComWay(corp_id=client.corp_id, kind=WayKind.JOIN_WAY.value, config_id=config_id,
                   state=state, qr_code=qr_code, targets=list(chat_ids))
    session.add(row)
    session.flush()
    access_service.record_audit(session, actor=actor, action="wecom.join_way.create",
                                entity_type="wecom_way", entity_id=row.id,
                                details={"state": state, "config_id": config_id})
    return row


# --- mass sends ------------------------------------------------------------------------------


def send_mass_message(
    session: Session,
    *,
    actor: Principal,
    client: WeComClient,
    key: str,
    chat_type: str,
    text: str,
    targets: Mapping[str, Sequence[str]],
) -> MassSendResult:
    """Create mass-send tasks: ``targets`` maps each sender (staff user id) to customers'
    external user ids (``single``) or chat ids (``group``), split into WeCom's task limits.

    Each part has a key (``key:sender:part``) stored with its ``msgid``: running the same
    send again creates only the parts that were not created yet. A part is only retried by
    the client when WeCom said it did not create it (token or busy errcodes).
    """
    access_service.require(actor, Permission.CUSTOMERS_WRITE)
    if chat_type not in ("single", "group"):
        raise InvalidWeComConfig("chat_type is 'single' or 'group'")
    size = MAX_CUSTOMERS_PER_TASK if chat_type == "single" else MAX_GROUPS_PER_TASK
    created = skipped = total = failed = 0
    for sender in sorted(targets):
        unique = list(dict.fromkeys(targets[sender]))
        for part, start in enumerate(range(0, len(unique), size)):
            chunk = unique[start:start + size]
            total += len(chunk)
            task_key = f"{key}:{sender}:{part}"
            if repository.message_task(session, task_key) is not None:
                skipped += 1
                continue
            answer = client.add_message_template(
                chat_type=chat_type, sender=sender, text=text,
                external_userids=chunk if chat_type == "single" else (),
                chat_ids=chunk if chat_type == "group" else ())
            session.add(WeComMessageTask(corp_id=client.corp_id, task_key=task_key,
                                         chat_type=chat_type, sender=sender,
                                         targets=len(chunk), failed=len(answer.fail_list),
                                         msgid=answer.msgid))
            session.flush()
            created += 1
            failed += len(answer.fail_list)
    access_service.record_audit(session, actor=actor, action="wecom.mass_send",
                                entity_type="wecom_message_task", entity_id=key,
                                details={"chat_type": chat_type, "tasks": created,
                                         "skipped": skipped, "targets": total})
    return MassSendResult(tasks_created=created, tasks_skipped=skipped, targets=total,
                          failed=failed)


# --- side effects after commit ---------------------------------------------------------------


def queue_welcome_message(session: Session, *, corp_id: str, welcome_code: str,
                          staff_userid: str) -> WeComOutbox:
    item = WeComOutbox(corp_id=corp_id, kind=WELCOME_MESSAGE,
                       payload={"welcome_code": welcome_code, "staff": staff_userid})
    session.add(item)
    session.flush()
    return item


@dataclass(frozen=True)
class OutboxReport:
    sent: int
    failed: int


def deliver_outbox(factory: sessionmaker[Session], *, client: WeComClient,
                   item_ids: Sequence[int]) -> OutboxReport:
    """Run queued side effects: each item is claimed in one short transaction, the call is
    made with no transaction open, and the result recorded in another. A failure is kept on
    the item (a welcome code lives 20 s: it is not retried later)."""
    sent = failed = 0
    for item_id in item_ids:
        with unit_of_work(factory) as session:
            item = repository.claim_outbox_item(session, item_id)
            if item is None:
                continue
            corp = repository.corp_by_corp_id(session, item.corp_id)
            kind, payload = item.kind, dict(item.payload)
            text = corp.welcome_text if corp is not None else ""
        error_message: str | None = None
        try:
            if kind != WELCOME_MESSAGE or corp is None:
                raise InvalidWeComConfig(f"cannot run a {kind!r} item")
            client.send_welcome_message(str(payload["welcome_code"]), text=text)
        except (WeComApiError, WeComUnavailable, InvalidWeComConfig) as error:
            error_message = error.message[:300]
            log.warning("WeCom side effect %s failed: %s", item_id, error.message)
        with unit_of_work(factory) as session:
            done = session.get_one(WeComOutbox, item_id)
            done.status = (OutboxStatus.SENT if error_message is None
                           else OutboxStatus.FAILED).value
            done.last_error = error_message
            done.done_at = utcnow()
        if error_message is None:
            sent += 1
        else:
            failed += 1
    return OutboxReport(sent=sent, failed=failed)


@dataclass(frozen=True)
class SimulatorSetup:
    """What ``yutang wecom-sim`` plays with: the corp's keys, staff and channel-code states."""

    keys: CorpKeys
    staff_userids: list[str]
    states: list[str]


def simulator_setup(session: Session, *, actor: Principal,
                    corp_id: str | None = None) -> SimulatorSetup:
    keys = corp_keys(session, corp_id=corp_id)
    codes = channels.list_codes(session, actor=actor)
    return SimulatorSetup(keys=keys, staff_userids=staff_userids(session),
                          states=[code.state for code in codes if code.is_active])
