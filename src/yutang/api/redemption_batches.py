"""Coupon redemptions over HTTP, group-committed: the redemptions a server process receives
at one moment are authenticated and decided together in one writer transaction
(``kit.write_batches``, ``offers.service.redeem_batch``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.kit.errors import DomainError
from yutang.kit.write_batches import WriteBatcher
from yutang.offers import service as offers
from yutang.offers.idempotency import Outcome
from yutang.offers.schemas import RedemptionIn


@dataclass(frozen=True, slots=True)
class CallerRedemption:
    """A redemption as the API received it: the caller's API key, the code, the body."""

    api_key: str
    code: str
    data: RedemptionIn


RedemptionBatcher = WriteBatcher[CallerRedemption, Outcome]


def redemption_batcher(factory: Callable[[], sessionmaker[Session]]) -> RedemptionBatcher:
    return WriteBatcher(factory, redeem_as_callers)


def redeem_as_callers(session: Session,
                      items: Sequence[CallerRedemption]) -> list[Outcome | DomainError]:
    """Each item's outcome, or the domain error that refused it (an API key that is not
    valid, an idempotency key reused for another request)."""
    answers: list[Outcome | DomainError | None] = [None] * len(items)
    admitted: list[tuple[int, Principal]] = []
    for index, item in enumerate(items):
        try:
            admitted.append((index, access_service.authenticate_api_key(
                session, key=item.api_key)))
        except DomainError as refusal:
            answers[index] = refusal
    decided = offers.redeem_batch(session, [(actor, items[index].code, items[index].data)
                                            for index, actor in admitted])
    for (index, _), answer in zip(admitted, decided, strict=True):
        answers[index] = answer
    assert all(answer is not None for answer in answers)  # every request was answered
    return [answer for answer in answers if answer is not None]
