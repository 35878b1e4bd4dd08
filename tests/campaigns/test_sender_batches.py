"""Batched mass-send tasks: deliveries of a batch with one message (chat type, staff member,
rendered text, attachments) share one ``add_msg_template`` call, so a staff member confirms
one task instead of one per customer — counted on the simulator, call by call. Personalised
content stays one task per customer; a ``fail_list`` target fails alone; a busy answer
sends the whole task back with its backoff; an opt-out or a lost lease between preparing and
calling keeps those rows out of the call (both backends)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.campaigns.support import (
    campaign,
    give_consent,
    new_customer,
    new_store,
    segment,
)
from tests.support.factories import SYSTEM
from yutang.campaigns import content as content_service
from yutang.campaigns import delivery_preparation, service
from yutang.campaigns.delivery_claims import claim_batch, expire_leases
from yutang.campaigns.delivery_preparation import (
    MassSendTask,
    PreparationCounts,
    PreparedDelivery,
    group_into_tasks,
    prepare_batch,
)
from yutang.campaigns.models import Delivery
from yutang.campaigns.schemas import Attachment, ContentIn
from yutang.campaigns.sender import SenderSettings, SendReport, send_due, send_task
from yutang.connectors.wecom.client import WeComClient
from yutang.connectors.wecom.models import WeComContact
from yutang.connectors.wecom.simulator import WeComSimulator
from yutang.kit.db import run_in_transaction
from yutang.org.models import Store
from yutang.pool.models import Customer, Identity, IdentityKind

SEND_AT = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # Tuesday 12:00 in Shanghai
SETTINGS = SenderSettings(backoff_seconds=600, max_attempts=3)
PER_STAFF = 25


def _external(db: Session, customer: Customer) -> str:
    identity = db.scalars(select(Identity).where(
        Identity.customer_id == customer.id,
        Identity.kind == IdentityKind.WECOM_EXTERNAL_USERID.value)).one()
    return str(identity.value)


def _follows(db: Session, customer: Customer, staff_userid: str) -> None:
    """The customer added ``staff_userid`` in WeCom."""
    identity = db.scalars(select(Identity).where(
        Identity.customer_id == customer.id,
        Identity.kind == IdentityKind.WECOM_EXTERNAL_USERID.value)).one()
    db.add(WeComContact(corp_id="wwcampaigns0001", staff_userid=staff_userid,
                        external_userid_index=identity.value_index,
                        external_userid=identity.value, status="active",
                        added_at=SEND_AT - timedelta(days=30), last_change="add_external_contact"))
    db.flush()


def _shop(db: Session, simulator: WeComSimulator) -> tuple[Store, dict[str, list[str]]]:
    """Customers of two staff members, added alternately, and three without a staff member
    of their own (the campaign's sender sends to them); externals per sender."""
    store = new_store(db)
    externals: dict[str, list[str]] = {"staff-a": [], "staff-b": [], "staff-hq": []}
    for number in range(2 * PER_STAFF + 3):
        customer = new_customer(db, store)
        staff = ("staff-a", "staff-b")[number % 2] if number < 2 * PER_STAFF else "staff-hq"
        if staff != "staff-hq":
            _follows(db, customer, staff)
        externals[staff].append(_external(db, customer))
        simulator.add_customer(_external(db, customer))
    return store, externals


def _planned(db: Session, store: Store, body: str) -> int:
    content = content_service.create_content(db, actor=SYSTEM, data=ContentIn(
        name=f"文案-{body[:8]}", category="promotion", body=body,
        attachments=[Attachment(kind="link", url="https://example.com/new", title="新品")]))
    content_service.approve_content(db, actor=SYSTEM, content_id=content.id)
    sale = campaign(db, segment_id=segment(db, {"field": "store", "op": "eq",
                                                "value": store.id}).id,
                    send_at=SEND_AT, holdout_share=0.0, content_id=content.id)
    service.plan_due(db, now=SEND_AT)
    return sale.id


def _send_all(factory: sessionmaker[Session], client: WeComClient, at: datetime,
              settings: SenderSettings = SETTINGS) -> SendReport:
    total = SendReport()
    for _ in range(50):
        report = send_due(factory, client=client, owner="test-sender", settings=settings,
                          clock=lambda: at)
        total.add(report)
        if report.claimed == 0:
            return total
    raise AssertionError("the sender did not finish")


def _deliveries(db: Session, campaign_id: int) -> list[Delivery]:
    db.expire_all()
    return list(db.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id)
                           .order_by(Delivery.id)))


def test_identical_content_goes_out_as_one_task_per_staff_member(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store, externals = _shop(db, simulator)
    campaign_id = _planned(db, store, "本周新品到店，欢迎来{store}看看")

    report = _send_all(session_factory, client, SEND_AT)

    assert (report.sent, report.tasks, report.failed) == (2 * PER_STAFF + 3, 3, 0)
    assert len(simulator.tasks) == 3  # three confirmations instead of 53
    # the targets of a task in no particular order: planning's insert order is the plan's
    assert {task.sender: sorted(task.external_userids) for task in simulator.tasks} == {
        sender: sorted(targets) for sender, targets in externals.items()}
    assert {task.text for task in simulator.tasks} == {f"本周新品到店，欢迎来{store.name}看看"}
    by_sender = {task.sender: task.msgid for task in simulator.tasks}
    rows = _deliveries(db, campaign_id)
    assert all(row.status == "sent" and row.attempts == 1 for row in rows)
    received = {row.message_ref for row in rows}
    assert received == set(by_sender.values())
    sender_of = {target: sender for sender, targets in externals.items() for target in targets}
    for row in rows:
        customer = db.get_one(Customer, row.customer_id)
        sender = sender_of[_external(db, customer)]
        assert (row.sender_userid, row.message_ref) == (sender, by_sender[sender])


def test_a_task_is_split_at_the_wecom_limit(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient], monkeypatch: pytest.MonkeyPatch) -> None:
    simulator, client = wecom
    monkeypatch.setattr(delivery_preparation, "MAX_CUSTOMERS_PER_TASK", 10)
    store, externals = _shop(db, simulator)
    _planned(db, store, "本周新品到店")

    _send_all(session_factory, client, SEND_AT)

    sizes = sorted((task.sender, len(task.external_userids)) for task in simulator.tasks)
    assert sizes == [("staff-a", 5), ("staff-a", 10), ("staff-a", 10), ("staff-b", 5),
                     ("staff-b", 10), ("staff-b", 10), ("staff-hq", 3)]
    for sender, targets in externals.items():
        assert sorted(target for task in simulator.tasks if task.sender == sender
                      for target in task.external_userids) == sorted(targets)


def test_smaller_batches_mean_one_task_per_staff_member_and_batch(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store, _ = _shop(db, simulator)
    _planned(db, store, "本周新品到店")

    _send_all(session_factory, client, SEND_AT,
              SenderSettings(batch_size=20, backoff_seconds=600, max_attempts=3))

    # 53 deliveries in batches of 20, 20 and 13: staff a and b alternate, so each of the
    # first two batches is one task for each; the last holds 5 of each and the 3 others.
    assert [(task.sender, len(task.external_userids)) for task in simulator.tasks] == [
        ("staff-a", 10), ("staff-b", 10), ("staff-a", 10), ("staff-b", 10),
        ("staff-a", 5), ("staff-b", 5), ("staff-hq", 3)]
    assert Counter(target for task in simulator.tasks
                   for target in task.external_userids).most_common(1)[0][1] == 1


def test_personalised_content_is_one_task_per_customer(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store, externals = _shop(db, simulator)
    campaign_id = _planned(db, store, "{name}您好，本周新品到店")

    report = _send_all(session_factory, client, SEND_AT)

    assert report.tasks == len(simulator.tasks) == 2 * PER_STAFF + 3
    assert all(len(task.external_userids) == 1 for task in simulator.tasks)
    rows = _deliveries(db, campaign_id)
    assert len({row.message_ref for row in rows}) == len(rows)
    names = {_external(db, customer): customer.name for customer in db.scalars(
        select(Customer).where(Customer.store_id == store.id))}
    assert sorted(task.text for task in simulator.tasks) == sorted(
        f"{names[target]}您好，本周新品到店" for targets in externals.values()
        for target in targets)


def test_only_the_fail_list_targets_fail_the_rest_of_the_task_is_sent(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store, externals = _shop(db, simulator)
    refused = externals["staff-a"][3]
    del simulator.contacts[refused]  # WeCom no longer knows this contact: fail_list
    campaign_id = _planned(db, store, "本周新品到店")

    report = _send_all(session_factory, client, SEND_AT)

    assert (report.tasks, report.sent, report.failed) == (3, 2 * PER_STAFF + 2, 1)
    task_a = next(task for task in simulator.tasks if task.sender == "staff-a")
    assert task_a.external_userids == [item for item in externals["staff-a"] if item != refused]
    fates = Counter((row.status, row.reason, row.message_ref) for row in _deliveries(
        db, campaign_id) if row.sender_userid == "staff-a")
    assert fates == {("sent", None, task_a.msgid): PER_STAFF - 1,
                     ("failed", "refused_by_wecom", task_a.msgid): 1}


def test_a_busy_answer_sends_the_whole_task_back_with_its_backoff(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store, externals = _shop(db, simulator)
    campaign_id = _planned(db, store, "本周新品到店")
    simulator.inject_errors("externalcontact/add_msg_template", [45009])

    first = _send_all(session_factory, client, SEND_AT)
    assert (first.tasks, first.retried, first.sent) == (3, PER_STAFF, 2 * PER_STAFF + 3 - PER_STAFF)
    waiting = [row for row in _deliveries(db, campaign_id) if row.status == "planned"]
    busy_sender = next(sender for sender in ("staff-a", "staff-b")
                       if sender not in {task.sender for task in simulator.tasks})
    assert {row.sender_userid for row in waiting} == {busy_sender}
    assert all(row.attempts == 1 and row.next_attempt_at == SEND_AT + timedelta(seconds=600)
               and row.last_error for row in waiting)
    assert _send_all(session_factory, client, SEND_AT + timedelta(seconds=599)).claimed == 0

    retry = _send_all(session_factory, client, SEND_AT + timedelta(seconds=600))
    assert (retry.tasks, retry.sent) == (1, PER_STAFF)
    assert next(task for task in simulator.tasks
                if task.sender == busy_sender).external_userids == externals[busy_sender]
    received = Counter(target for task in simulator.tasks for target in task.external_userids)
    assert set(received.values()) == {1}
    assert {(row.status, row.attempts) for row in _deliveries(db, campaign_id)
            if row.sender_userid == busy_sender} == {("sent", 2)}


def test_an_opt_out_or_a_lost_lease_after_preparing_keeps_rows_out_of_the_call(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store, externals = _shop(db, simulator)
    campaign_id = _planned(db, store, "本周新品到店")
    lease = timedelta(seconds=SETTINGS.lease_seconds)
    claimed = run_in_transaction(session_factory, lambda session: claim_batch(
        session, owner="test-sender", now=SEND_AT, limit=1000, lease=lease))
    tasks = run_in_transaction(session_factory, lambda session: prepare_batch(
        session, delivery_ids=claimed, owner="test-sender", now=SEND_AT,
        counts=PreparationCounts()))
    task_a = next(task for task in tasks if task.sender == "staff-a")
    task_b = next(task for task in tasks if task.sender == "staff-b")
    opted_out = db.get_one(Customer, task_a.deliveries[0].customer_id)
    give_consent(db, opted_out, granted=False)  # after preparing, before the call

    report = SendReport()
    send_task(session_factory, client=client, task=task_a, owner="test-sender",
              settings=SETTINGS, clock=lambda: SEND_AT, report=report)
    assert simulator.tasks[-1].external_userids == externals["staff-a"][1:]
    assert (report.suppressed, report.reasons, report.sent) == (1, {"opted_out": 1},
                                                                 PER_STAFF - 1)
    # The lease of staff b's rows runs out before their turn; another sender releases them.
    released, _ = run_in_transaction(session_factory, lambda session: expire_leases(
        session, now=SEND_AT + lease + timedelta(seconds=1)))
    assert released == PER_STAFF + 3
    send_task(session_factory, client=client, task=task_b, owner="test-sender",
              settings=SETTINGS, clock=lambda: SEND_AT, report=report)
    assert len(simulator.tasks) == 1 and report.tasks == 1
    fates = Counter((row.status, row.reason) for row in _deliveries(db, campaign_id))
    assert fates == {("sent", None): PER_STAFF - 1, ("suppressed", "opted_out"): 1,
                     ("planned", None): PER_STAFF + 3}


def _prepared(number: int, target: str) -> PreparedDelivery:
    return PreparedDelivery(delivery_id=number, customer_id=number, consent_channel="wecom",
                            target=target)


def test_tasks_hold_at_most_10000_customers_or_2000_groups_and_no_target_twice() -> None:
    one = delivery_preparation._Message("single", "staff-a", "同一条消息", [])
    groups = delivery_preparation._Message("group", "staff-a", "同一条消息", [])
    other = delivery_preparation._Message("single", "staff-a", "同一条消息",
                                          [{"msgtype": "link", "link": {"url": "https://x"}}])
    messages = [(one, _prepared(number, f"wm{number}")) for number in range(10_001)]
    messages += [(groups, _prepared(20_000 + number, f"wr{number}")) for number in range(2_001)]
    messages += [(one, _prepared(30_000, "wm5")), (other, _prepared(30_001, "wm6"))]
    tasks: list[MassSendTask] = group_into_tasks(messages)
    assert [(task.chat_type, len(task.targets), task.attachments != []) for task in tasks] == [
        ("single", 10_000, False), ("single", 2, False), ("group", 2_000, False),
        ("group", 1, False), ("single", 1, True)]
    assert tasks[1].targets == ["wm10000", "wm5"]  # wm5 again: not in the task it is in
