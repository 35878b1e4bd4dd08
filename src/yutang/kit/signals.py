"""Domain signals: a lower domain announces what it committed, upper domains react after commit.

The layers run one way (``pool`` knows nothing of ``groups`` or ``offers``), yet a ``join_group``
event stored by the pool must update a group, and a contact added through a channel code must
grant a welcome offer. The lower domain calls :func:`emit_after_commit` inside its transaction;
when (and only when) that transaction commits, every handler subscribed to the signal runs with
the payload, each in its own transaction opened from ``session_factory``. A rolled-back
transaction announces nothing.

Within one transaction the payloads of a signal add up (``+``: lists concatenate, a payload
type may define ``__add__``), and each handler is called once per signal at commit: a
transaction that stores many batches, or a demo load, costs one reaction, not one per batch.

Handlers must be idempotent and must not rely on being called: a crash between the commit and
the handler loses the call, so each reacting domain also keeps a durable cursor over the rows it
reacts to (for example the pool's ``event`` ids) and catches up from it (its sweep job). The
signal is the fast path; the cursor is the guarantee.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

Handler = Callable[[sessionmaker[Session], Any], None]
"""Called with a session factory bound like the emitting session's, and the payload."""

_handlers: dict[str, list[Handler]] = defaultdict(list)
_PENDING_KEY = "yutang.signals.pending"


def subscribe(name: str, handler: Handler) -> None:
    """Run ``handler`` after each commit that emitted ``name`` (once per subscription)."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers[name]:
        _handlers[name].remove(handler)


def emit_after_commit(session: Session, name: str, payload: Any) -> None:
    """Announce ``payload`` under ``name`` once the transaction of ``session`` commits (added
    to what the transaction announced under ``name`` already)."""
    if not _handlers.get(name):
        return
    pending: dict[str, Any] = session.info.setdefault(_PENDING_KEY, {})
    pending[name] = pending[name] + payload if name in pending else payload


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    pending: dict[str, Any] = session.info.pop(_PENDING_KEY, {})
    if not pending:
        return
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False, autoflush=True)
    for name, payload in pending.items():
        for handler in list(_handlers.get(name, ())):
            try:
                handler(factory, payload)
            except Exception:  # a reaction failing must not fail the committed work
                logger.exception("handler %r of signal %s failed; its sweep will catch up",
                                 handler, name)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
