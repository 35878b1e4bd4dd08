"""Every query of the WeCom connector."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yutang.access.models import User
from yutang.connectors.wecom.models import (
    OutboxStatus,
    WeComCallback,
    WeComContact,
    WeComCorp,
    WeComGroup,
    WeComGroupMember,
    WeComMessageTask,
    WeComOutbox,
    WeComWay,
)


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def corp_by_corp_id(session: Session, corp_id: str) -> WeComCorp | None:
    return session.scalars(select(WeComCorp).where(WeComCorp.corp_id == corp_id)).one_or_none()


def active_corps(session: Session) -> Sequence[WeComCorp]:
    return session.scalars(
        select(WeComCorp).where(WeComCorp.is_active.is_(True)).order_by(WeComCorp.id)
    ).all()


def callback_seen(session: Session, *, request_key: str, message_key: str) -> bool:
    found = session.scalar(
        select(WeComCallback.id).where(
            (WeComCallback.request_key == request_key)
            | (WeComCallback.message_key == message_key)
        ).limit(1)
    )
    return found is not None


def insert_callback(session: Session, row: Mapping[str, Any]) -> int | None:
    """Insert the callback unless its request or its message was stored first (by a
    concurrent delivery too); answers the new row's id, or None for a replay."""
    table = WeComCallback.__table__
    assert isinstance(table, Table)
    dialect = postgresql if _is_postgresql(session) else sqlite
    statement = dialect.insert(table).values(**row).on_conflict_do_nothing().returning(
        table.c.id)
    found = session.execute(statement).scalar_one_or_none()
    return None if found is None else int(found)


def recent_callbacks(session: Session, limit: int = 100) -> Sequence[WeComCallback]:
    return session.scalars(
        select(WeComCallback).order_by(WeComCallback.id.desc()).limit(limit)
    ).all()


def contact(session: Session, *, corp_id: str, staff_userid: str,
            external_userid_index: str) -> WeComContact | None:
    return session.scalars(
        select(WeComContact).where(
            WeComContact.corp_id == corp_id, WeComContact.staff_userid == staff_userid,
            WeComContact.external_userid_index == external_userid_index)
    ).one_or_none()


def contacts_of(session: Session, *, corp_id: str,
                external_userid_index: str) -> Sequence[WeComContact]:
    return session.scalars(
        select(WeComContact).where(
            WeComContact.corp_id == corp_id,
            WeComContact.external_userid_index == external_userid_index,
        ).order_by(WeComContact.id)
    ).all()


def group(session: Session, *, corp_id: str, chat_id: str) -> WeComGroup | None:
    return session.scalars(
        select(WeComGroup).where(WeComGroup.corp_id == corp_id, WeComGroup.chat_id == chat_id)
    ).one_or_none()


def group_members(session: Session, group_id: int) -> dict[str, WeComGroupMember]:
    """member blind index → member row."""
    rows = session.scalars(
        select(WeComGroupMember).where(WeComGroupMember.group_id == group_id)
    )
    return {row.member_index: row for row in rows}


def staff_by_wecom_userid(session: Session,
                          userids: Collection[str]) -> dict[str, tuple[int, int | None]]:
    """WeCom user id → (yutang user id, store id) for active users."""
    if not userids:
        return {}
    rows = session.execute(
        select(User.wecom_userid, User.id, User.store_id).where(
            User.wecom_userid.in_(sorted(userids)), User.is_active.is_(True))
    )
    return {str(userid): (int(user_id), store_id) for userid, user_id, store_id in rows
            if userid is not None}


def staff_userids(session: Session) -> list[str]:
    """Every active user's WeCom user id."""
    rows = session.scalars(
        select(User.wecom_userid).where(User.wecom_userid.is_not(None),
                                        User.is_active.is_(True)).order_by(User.id)
    )
    return [str(userid) for userid in rows if userid]


def outbox_items(session: Session, ids: Sequence[int]) -> Sequence[WeComOutbox]:
    if not ids:
        return []
    return session.scalars(
        select(WeComOutbox).where(WeComOutbox.id.in_(list(ids))).order_by(WeComOutbox.id)
    ).all()


def claim_outbox_item(session: Session, item_id: int) -> WeComOutbox | None:
    """Take a pending item for sending, in one atomic statement: two senders never both get
    it. Answers None if it is not pending (any more)."""
    claimed = session.execute(
        update(WeComOutbox)
        .where(WeComOutbox.id == item_id, WeComOutbox.status == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.SENDING.value, attempts=WeComOutbox.attempts + 1)
        .returning(WeComOutbox.id)
    ).scalar_one_or_none()
    if claimed is None:
        return None
    item = session.get(WeComOutbox, item_id)
    if item is not None:
        session.refresh(item)
    return item


def message_task(session: Session, task_key: str) -> WeComMessageTask | None:
    return session.scalars(
        select(WeComMessageTask).where(WeComMessageTask.task_key == task_key)
    ).one_or_none()


def way_for_state(session: Session, *, corp_id: str, kind: str, state: str) -> WeComWay | None:
    return session.scalars(
        select(WeComWay).where(WeComWay.corp_id == corp_id, WeComWay.kind == kind,
                               WeComWay.state == state).order_by(WeComWay.id.desc()).limit(1)
    ).first()
