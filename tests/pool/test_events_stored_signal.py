"""``pool.events_stored`` names what a call stored (ids and types), and reactions pass over a
batch that holds none of their types without touching the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.support.factories import SYSTEM
from yutang.groups import reactions as groups_reactions
from yutang.kit.db import create_engine, make_session_factory, run_in_transaction, writer_engine
from yutang.kit.signals import subscribe, unsubscribe
from yutang.offers import reactions as offers_reactions
from yutang.pool import ingestion
from yutang.pool.signals import EVENTS_STORED, StoredEvents


def _event(event_id: str, event_type: str) -> dict[str, Any]:
    return {"event_id": event_id, "type": event_type,
            "occurred_at": "2026-10-01T12:00:00+08:00",
            "identities": {"wechat_unionid": f"U-{event_id}"}}


def test_the_signal_carries_the_stored_ids_and_types_and_nothing_for_a_replay(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url)
    writer = make_session_factory(writer_engine(engine))
    seen: list[StoredEvents] = []

    def recording(_: sessionmaker[Session], payload: StoredEvents) -> None:
        seen.append(payload)

    batch = [_event("e3", "add_contact"), _event("e1", "view"), _event("e2", "join_group"),
             _event("e1", "view")]
    subscribe(EVENTS_STORED, recording)
    try:
        for _ in range(2):
            run_in_transaction(writer, lambda session: ingestion.ingest_events(
                session, actor=SYSTEM, events=batch))
    finally:
        unsubscribe(EVENTS_STORED, recording)
        engine.dispose()
    assert seen == [StoredEvents(event_ids=("e1", "e2", "e3"),
                                 types=frozenset({"view", "join_group", "add_contact"}))]


def test_two_batches_of_one_transaction_add_up() -> None:
    first = StoredEvents.of([("e2", "view"), ("e1", "join_group")])
    second = StoredEvents.of([("e3", "view"), ("e2", "view")])
    assert first + second == StoredEvents(event_ids=("e1", "e2", "e3"),
                                          types=frozenset({"view", "join_group"}))


class _Untouchable:
    """A session factory that fails the test if anything opens a session from it."""

    def __call__(self, *args: Any, **kwargs: Any) -> Session:
        raise AssertionError("the reaction touched the database")

    def __init__(self) -> None:
        self.kw: dict[str, Any] = {}  # what ``sessionmaker`` keeps (no bind)


@pytest.mark.parametrize("reaction", [offers_reactions.welcome_new_contacts,
                                      groups_reactions.apply_group_events])
def test_reactions_pass_over_batches_without_their_types(reaction: Any) -> None:
    views = StoredEvents.of([("e1", "view"), ("e2", "add_to_cart"), ("e3", "pay")])
    reaction(_Untouchable(), views)  # no session opened: nothing raised


@pytest.mark.parametrize(("reaction", "event_type"), [
    (offers_reactions.welcome_new_contacts, "add_contact"),
    (offers_reactions.welcome_new_contacts, "join_group"),
    (groups_reactions.apply_group_events, "join_group"),
    (groups_reactions.apply_group_events, "leave_group"),
    (groups_reactions.apply_group_events, "message"),
    (groups_reactions.apply_group_events, "red_packet_claim"),
])
def test_reactions_look_at_batches_with_their_types(reaction: Any, event_type: str) -> None:
    stored = StoredEvents.of([("e1", "view"), ("e2", event_type)])
    with pytest.raises(AssertionError, match="touched the database"):
        reaction(_Untouchable(), stored)
