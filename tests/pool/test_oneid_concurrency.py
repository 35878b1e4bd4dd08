"""Two connections ingesting events that bridge the same customers at once end with one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM
from yutang.kit.db import create_engine, make_session_factory, run_in_transaction, writer_engine
from yutang.pool import ingestion
from yutang.pool.models import Customer, Event, MergeLog


def _event(event_id: str, **identities: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": "add_contact",
            "occurred_at": "2026-10-01T12:00:00+08:00", "identities": identities}


def _in_parallel(*jobs: Callable[[], None]) -> None:
    barrier = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []


def test_concurrent_bridging_events_end_with_one_customer(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    writer = make_session_factory(writer_engine(engine))
    try:
        for round_number in range(5):
            prefix = f"r{round_number}"

            def ingest(*events: dict[str, Any]) -> Callable[[], None]:
                def job() -> None:
                    run_in_transaction(writer, lambda session: ingestion.ingest_events(
                        session, actor=SYSTEM, events=list(events)))
                return job

            seed = [_event(f"{prefix}-a", wechat_unionid=f"{prefix}-U"),
                    _event(f"{prefix}-b", phone=f"1391234{round_number:04d}"),
                    _event(f"{prefix}-c", taobao_id=f"{prefix}-T")]
            ingest(*seed)()
            _in_parallel(
                ingest(_event(f"{prefix}-x", wechat_unionid=f"{prefix}-U",
                              phone=f"1391234{round_number:04d}")),
                ingest(_event(f"{prefix}-y", phone=f"1391234{round_number:04d}",
                              taobao_id=f"{prefix}-T")),
                ingest(_event(f"{prefix}-z", taobao_id=f"{prefix}-T",
                              wechat_unionid=f"{prefix}-U")),
            )
        factory = make_session_factory(engine)
        with factory() as session:
            _assert_one_customer_per_round(session)
    finally:
        engine.dispose()


def _assert_one_customer_per_round(session: Session) -> None:
    live = session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_(None)))
    assert live == 5
    for round_number in range(5):
        owners = set(session.scalars(select(Event.customer_id).where(
            Event.event_id.like(f"r{round_number}-%"))))
        assert len(owners) == 1
        (owner,) = owners
        customer = session.get(Customer, owner)
        assert customer is not None and customer.merged_into_id is None
    merged = session.scalar(select(func.count()).select_from(Customer).where(
        Customer.merged_into_id.is_not(None)))
    assert merged == 10
    assert session.scalar(select(func.count()).select_from(MergeLog)) >= 5


def test_a_merge_moves_an_event_attached_while_it_waited(fresh_database_url: str) -> None:
    """An ingestion attaches an event to customer B and has not committed; a bridging event
    merges B into A meanwhile. The merge waits, then moves the late event too."""
    engine = create_engine(fresh_database_url)
    writer = make_session_factory(writer_engine(engine))
    try:
        run_in_transaction(writer, lambda session: ingestion.ingest_events(
            session, actor=SYSTEM, events=[_event("a", wechat_unionid="U-late"),
                                           _event("b", phone="13912340077")]))
        attached, release = threading.Event(), threading.Event()
        failures: list[BaseException] = []

        def late_ingestion() -> None:
            session = writer()
            try:
                ingestion.ingest_events(session, actor=SYSTEM,
                                        events=[_event("late", phone="13912340077")])
                attached.set()
                release.wait(30)
                session.commit()
            except BaseException as error:
                failures.append(error)
                attached.set()
            finally:
                session.close()

        def bridge() -> None:
            attached.wait(30)
            try:
                run_in_transaction(writer, lambda session: ingestion.ingest_events(
                    session, actor=SYSTEM,
                    events=[_event("bridge", wechat_unionid="U-late", phone="13912340077")]))
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=late_ingestion), threading.Thread(target=bridge)]
        for thread in threads:
            thread.start()
        attached.wait(30)
        threads[1].join(timeout=0.5)
        assert threads[1].is_alive()  # the merge waits for the open ingestion
        release.set()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        with make_session_factory(engine)() as session:
            live = session.scalars(select(Customer.id).where(
                Customer.merged_into_id.is_(None))).all()
            assert len(live) == 1
            rows = session.execute(select(Event.event_id, Event.customer_id))
            owners = {event_id: customer_id for event_id, customer_id in rows}
            assert owners == {"a": live[0], "b": live[0], "late": live[0], "bridge": live[0]}
    finally:
        engine.dispose()
