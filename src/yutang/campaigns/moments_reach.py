"""A staff member's friends: the people who see what they post to Moments (朋友圈).

Where WeCom has reported on the staff member (any contact relation, kept even when lost),
their friends are their *active* external contacts, as WeCom last told us (a half-added or
lost contact sees nothing). For a staff member WeCom has never reported on (WeCom not
connected, or not yet synchronised), their friends are the live pool customers they brought
in (the customers' acquisition staff member, merged records left out). One source per staff
member, so nobody is counted twice.

Each figure is one grouped statement over the staff members given, whatever their number.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yutang.connectors.wecom.models import ContactStatus, WeComContact
from yutang.kit.sql import in_list
from yutang.pool.models import Customer


def friend_counts(session: Session, *, staff_user_ids: Collection[int]) -> dict[int, int]:
    """staff user id → friend count, for every id given (0 when none)."""
    wanted = sorted(set(staff_user_ids))
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    active = case((WeComContact.status == ContactStatus.ACTIVE.value, 1), else_=0)
    reported: set[int] = set()
    for staff_user_id, active_contacts in session.execute(
            select(WeComContact.staff_user_id, func.sum(active))
            .where(in_list(WeComContact.staff_user_id, wanted))
            .group_by(WeComContact.staff_user_id)):
        reported.add(int(staff_user_id))
        counts[int(staff_user_id)] = int(active_contacts or 0)
    others = [staff_user_id for staff_user_id in wanted if staff_user_id not in reported]
    if others:
        for staff_user_id, customers in session.execute(
                select(Customer.acquisition_staff_id, func.count())
                .where(in_list(Customer.acquisition_staff_id, others),
                       Customer.merged_into_id.is_(None))
                .group_by(Customer.acquisition_staff_id)):
            counts[int(staff_user_id or 0)] = int(customers)
    return counts
