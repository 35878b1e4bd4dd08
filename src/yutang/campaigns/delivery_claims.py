"""The sender's leases on deliveries: claiming a batch of due deliveries, and judging the
rows of senders whose lease ran out (``sender`` describes the whole way of a delivery)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, bindparam, text, update
from sqlalchemy.orm import Session

from yutang.campaigns.models import Delivery, DeliveryStatus


def expire_leases(session: Session, *, now: datetime) -> tuple[int, int]:
    """(released, unknown): claims of dead senders go back to ``planned``; calls of dead
    senders are ``failed`` with ``outcome_unknown`` and never retried."""
    released = session.execute(  # type: ignore[attr-defined]
        update(Delivery).where(Delivery.status == DeliveryStatus.CLAIMED.value,
                               Delivery.lease_until < now)
        .values(status=DeliveryStatus.PLANNED.value, lease_owner=None, lease_until=None)
    ).rowcount
    unknown = session.execute(  # type: ignore[attr-defined]
        update(Delivery).where(Delivery.status == DeliveryStatus.SENDING.value,
                               Delivery.lease_until < now)
        .values(status=DeliveryStatus.FAILED.value, reason="outcome_unknown",
                lease_owner=None, lease_until=None)
    ).rowcount
    return int(released or 0), int(unknown or 0)


# The order keeps a run's deliveries together at no cost: planning inserts a run with one
# INSERT … SELECT, so its deliveries have consecutive ids and (once and recurring runs) one
# ``not_before``; the index ``(status, not_before)`` hands them out in exactly this order
# (on SQLite the id is the index's last column), so a claim never sorts the due rows. A run
# with more deliveries than a batch fills whole batches, each one run's.
_DUE = """
    SELECT d.id FROM campaign_delivery d JOIN campaign c ON c.id = d.campaign_id
    WHERE d.status = 'planned' AND d.not_before <= :now
      AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= :now) AND c.status = 'active'
    ORDER BY d.not_before, d.id LIMIT :limit
"""


def claim_batch(session: Session, *, owner: str, now: datetime, limit: int,
                lease: timedelta) -> list[int]:
    """Claim up to ``limit`` due deliveries for ``owner`` in one statement (PostgreSQL skips
    rows another sender is claiming; SQLite serialises writers)."""
    if session.get_bind().dialect.name == "postgresql":
        # A materialised CTE: as ``id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` the
        # planner may run the sub-select as a semi-join that does not stop at the limit
        # (measured: a limit of 20 claimed all 53 due rows).
        sql = f"""
            WITH due AS MATERIALIZED ({_DUE} FOR UPDATE OF d SKIP LOCKED)
            UPDATE campaign_delivery SET status = 'claimed', lease_owner = :owner,
                   lease_until = :until
            FROM due WHERE campaign_delivery.id = due.id AND campaign_delivery.status = 'planned'
            RETURNING campaign_delivery.id
        """  # noqa: S608 - constant text, values are bound
    else:
        sql = f"""
            UPDATE campaign_delivery SET status = 'claimed', lease_owner = :owner,
                   lease_until = :until
            WHERE status = 'planned' AND id IN ({_DUE})
            RETURNING id
        """  # noqa: S608 - constant text, values are bound
    statement = text(sql).bindparams(
        bindparam("now", type_=Delivery.not_before.type),
        bindparam("until", type_=Delivery.lease_until.type),
        bindparam("limit", type_=BigInteger))
    rows = session.execute(statement, {"owner": owner, "now": now, "until": now + lease,
                                       "limit": limit}).scalars().all()
    return sorted(int(row) for row in rows)
