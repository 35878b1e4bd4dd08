"""The sender: claims due deliveries in batches under a lease and sends them through the WeCom
client as mass-send tasks, one task per identical message, so that no delivery is ever sent
twice — not by two senders, not by a retry, not by a sender that was killed mid-send and
started again — and a staff member confirms one task for many customers instead of one per
customer.

A delivery's way (``models.DeliveryStatus``):

1. ``planned`` → ``claimed``: one statement claims a batch for this sender with a lease
   (``delivery_claims``: PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite a conditional
   ``UPDATE … WHERE status = 'planned'``, writers being serialised), in due order, which
   keeps a run's deliveries together. A dead sender's ``claimed`` rows go back to
   ``planned`` when the lease ends: they were never called.
2. preparing the batch, in one transaction (``delivery_preparation``): the rows still
   claimed by this sender are locked; consent is checked again (an opt-out since planning
   suppresses it), the coupon that rides along is claimed through the offers service with the
   delivery's idempotency key (a retry gets the same coupon), the text is rendered; then the
   batch is cut into tasks: deliveries with the same chat type, sending staff member,
   rendered text and attachments share one ``add_msg_template`` call (≤ 10,000 customers or
   ≤ 2,000 groups, no target twice). Personalised content (``{name}``, ``{coupon}`` …) is one
   task per recipient; the operator-load report shows what that costs.
3. per task, ``claimed`` → ``sending`` is committed *before* the call, in one statement for
   the task's rows (``… WHERE status = 'claimed' AND lease_owner = :me RETURNING id``: a row
   whose lease was lost meanwhile is not called), with consent checked once more, the lease
   renewed, the attempt counted and the sending staff member recorded.
4. the call; then every delivery of the task is ``sent`` with WeCom's ``msgid`` (the same
   ``message_ref`` for the whole task) except the targets WeCom lists in ``fail_list``,
   which are ``failed`` (``refused_by_wecom``); or, if WeCom said it did *not* do it (busy,
   unreachable before connecting), the task's deliveries go back to ``planned`` with a
   backoff; or ``failed``. A ``sending`` row whose lease ended belongs to a sender that died
   during the call: it may have gone out, so it is marked ``failed`` (``outcome_unknown``)
   and never sent again — at most the one task that was in flight.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session, sessionmaker

from yutang.campaigns.delivery_claims import claim_batch, expire_leases
from yutang.campaigns.delivery_preparation import (
    MassSendTask,
    PreparationCounts,
    count_reason,
    in_chunks,
    newest_consents,
    prepare_batch,
    refusal,
)
from yutang.campaigns.models import Delivery, DeliveryStatus
from yutang.connectors.wecom.client import BUSY_ERRORS, WeComClient
from yutang.connectors.wecom.errors import WeComApiError, WeComUnavailable
from yutang.kit.clock import utcnow
from yutang.kit.db import run_in_transaction

__all__ = ["SendReport", "SenderSettings", "claim_batch", "expire_leases", "run_worker",
           "send_due", "send_task"]


@dataclass(frozen=True)
class SenderSettings:
    batch_size: int = 1_000
    """Deliveries claimed (and prepared in one transaction) at a time; identical messages of
    a batch share one WeCom task, so a bigger batch means fewer confirmations."""
    lease_seconds: int = 120
    max_attempts: int = 5
    backoff_seconds: float = 60.0
    """The first retry waits this long; each next one twice as long."""


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    retried: int = 0
    released: int = 0
    unknown: int = 0
    tasks: int = 0
    """WeCom mass-send tasks created (each one a confirmation for a staff member)."""
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: SendReport) -> None:
        for name in ("claimed", "sent", "failed", "suppressed", "retried", "released",
                     "unknown", "tasks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self._add_reasons(other.reasons)

    def add_preparation(self, counts: PreparationCounts) -> None:
        self.suppressed += counts.suppressed
        self.failed += counts.failed
        self._add_reasons(counts.reasons)

    def _add_reasons(self, reasons: dict[str, int]) -> None:
        for reason, count in reasons.items():
            count_reason(self.reasons, reason, count)


def _not_done_by_wecom(error: Exception) -> bool:
    """WeCom said it did not do it (an errcode, still busy) or was never reached."""
    if isinstance(error, WeComApiError):
        return error.errcode in BUSY_ERRORS
    if isinstance(error, WeComUnavailable):
        return (error.details.get("errcode") in BUSY_ERRORS
                or isinstance(error.__cause__, httpx.ConnectError))
    return False


def _mine(ids: Sequence[int], status: DeliveryStatus,
          owner: str) -> list[ColumnElement[bool]]:
    """The rows among ``ids`` in ``status`` whose lease ``owner`` holds."""
    return [Delivery.id.in_(ids), Delivery.status == status.value,
            Delivery.lease_owner == owner]


def _start(session: Session, task: MassSendTask, *, owner: str, now: datetime,
           lease: timedelta, report: SendReport) -> dict[int, int]:
    """``claimed`` → ``sending`` for the task's rows still claimed by ``owner``, after one
    more consent check; {delivery id: attempts} of the rows that will be called."""
    calling = []
    by_channel: dict[str, list[int]] = defaultdict(list)
    for delivery in task.deliveries:
        if delivery.consent_channel is not None and delivery.customer_id is not None:
            by_channel[delivery.consent_channel].append(delivery.customer_id)
    consents = {channel: newest_consents(session, customers, channel)
                for channel, customers in by_channel.items()}
    refused: dict[str, list[int]] = defaultdict(list)
    for delivery in task.deliveries:
        reason = (refusal(consents[delivery.consent_channel], delivery.customer_id)
                  if delivery.consent_channel is not None and delivery.customer_id is not None
                  else None)
        if reason is None:
            calling.append(delivery.delivery_id)
        else:
            refused[reason].append(delivery.delivery_id)
    for reason, ids in refused.items():
        count = session.execute(  # type: ignore[attr-defined]
            update(Delivery).where(*_mine(ids, DeliveryStatus.CLAIMED, owner)).values(
                status=DeliveryStatus.SUPPRESSED.value, reason=reason, lease_owner=None,
                lease_until=None)).rowcount
        report.suppressed += int(count or 0)
        count_reason(report.reasons, reason, int(count or 0))
    started: dict[int, int] = {}
    for chunk in in_chunks(calling):
        rows = session.execute(
            update(Delivery).where(*_mine(chunk, DeliveryStatus.CLAIMED, owner)).values(
                status=DeliveryStatus.SENDING.value, attempts=Delivery.attempts + 1,
                lease_until=now + lease, sender_userid=task.sender)
            .returning(Delivery.id, Delivery.attempts))
        started.update({int(row_id): int(attempts) for row_id, attempts in rows})
    return started


def _record(session: Session, *, started: dict[int, int], targets: dict[int, str],
            msgid: str, fail_list: set[str], error: Exception | None, owner: str,
            now: datetime, settings: SenderSettings, report: SendReport) -> None:
    """The task's outcome on its rows that are still ``sending`` under ``owner`` (a row
    whose lease ran out was judged meanwhile: it is left as it is)."""
    def judge(ids: list[int], **values: object) -> int:
        count = 0
        for chunk in in_chunks(ids):
            count += int(session.execute(  # type: ignore[attr-defined]
                update(Delivery).where(*_mine(chunk, DeliveryStatus.SENDING, owner))
                .values(lease_owner=None, lease_until=None, **values)).rowcount or 0)
        return count

    ids = sorted(started)
    if error is None:
        refused = [row for row in ids if targets[row] in fail_list]
        report.sent += judge([row for row in ids if targets[row] not in fail_list],
                             status=DeliveryStatus.SENT.value, reason=None, last_error=None,
                             sent_at=now, message_ref=msgid)
        report.failed += judge(refused, status=DeliveryStatus.FAILED.value,
                               reason="refused_by_wecom", last_error="in fail_list",
                               message_ref=msgid)
        return
    message = str(error)[:300]
    retry = _not_done_by_wecom(error)
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for row in ids:
        by_attempts[started[row] if retry and started[row] < settings.max_attempts
                    else 0].append(row)
    for attempts, rows in by_attempts.items():
        if attempts:
            report.retried += judge(
                rows, status=DeliveryStatus.PLANNED.value, reason=None, last_error=message,
                next_attempt_at=now + timedelta(
                    seconds=settings.backoff_seconds * 2 ** (attempts - 1)))
            continue
        reason = "send_failed" if retry else "outcome_unknown"
        if isinstance(error, WeComApiError) and error.errcode not in BUSY_ERRORS:
            reason = f"wecom_{error.errcode}"[:32]
        report.failed += judge(rows, status=DeliveryStatus.FAILED.value, reason=reason,
                               last_error=message)


def send_task(factory: sessionmaker[Session], *, client: WeComClient, task: MassSendTask,
              owner: str, settings: SenderSettings, clock: Callable[[], datetime] = utcnow,
              report: SendReport) -> None:
    """Commit the task's rows as ``sending``, make the one call, record its outcome."""
    lease = timedelta(seconds=settings.lease_seconds)
    started = run_in_transaction(factory, lambda session: _start(
        session, task, owner=owner, now=clock(), lease=lease, report=report))
    if not started:
        return
    targets = {delivery.delivery_id: delivery.target for delivery in task.deliveries
               if delivery.delivery_id in started}
    called = [targets[row] for row in sorted(started)]
    error: Exception | None = None
    msgid = ""
    fail_list: set[str] = set()
    report.tasks += 1
    try:
        answer = client.add_message_template(
            chat_type=task.chat_type, sender=task.sender, text=task.text,
            external_userids=called if task.chat_type == "single" else (),
            chat_ids=called if task.chat_type == "group" else (),
            attachments=task.attachments)
        msgid, fail_list = answer.msgid, set(answer.fail_list)
    except (WeComApiError, WeComUnavailable) as raised:
        error = raised
    run_in_transaction(factory, lambda session: _record(
        session, started=started, targets=targets, msgid=msgid, fail_list=fail_list,
        error=error, owner=owner, now=clock(), settings=settings, report=report))


def send_due(factory: sessionmaker[Session], *, client: WeComClient, owner: str,
             settings: SenderSettings = SenderSettings(),
             clock: Callable[[], datetime] = utcnow) -> SendReport:
    """Expire dead leases, claim one batch, prepare it and send its tasks."""
    report = SendReport()

    def claim(session: Session) -> list[int]:
        now = clock()
        report.released, report.unknown = expire_leases(session, now=now)
        return claim_batch(session, owner=owner, now=now, limit=settings.batch_size,
                           lease=timedelta(seconds=settings.lease_seconds))

    claimed = run_in_transaction(factory, claim)
    report.claimed = len(claimed)
    if not claimed:
        return report

    def prepare(session: Session) -> tuple[list[MassSendTask], PreparationCounts]:
        counts = PreparationCounts()  # afresh if a conflict re-runs the transaction
        return prepare_batch(session, delivery_ids=claimed, owner=owner, now=clock(),
                             counts=counts), counts

    tasks, counts = run_in_transaction(factory, prepare)
    report.add_preparation(counts)
    for task in tasks:
        send_task(factory, client=client, task=task, owner=owner, settings=settings,
                  clock=clock, report=report)
    return report


def run_worker(factory: sessionmaker[Session], *, client: WeComClient, owner: str,
               settings: SenderSettings = SenderSettings(), plan: Callable[[], int],
               once: bool = False, poll_seconds: float = 5.0,
               clock: Callable[[], datetime] = utcnow,
               sleep: Callable[[float], None] = time.sleep) -> SendReport:
    """Plan what is due and send until nothing is left (``once``), or forever."""
    total = SendReport()
    while True:
        plan()
        report = send_due(factory, client=client, owner=owner, settings=settings, clock=clock)
        total.add(report)
        if report.claimed == 0:
            if once:
                return total
            sleep(poll_seconds)
