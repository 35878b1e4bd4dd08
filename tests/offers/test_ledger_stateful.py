"""A hypothesis state machine drives random top-ups, charges, refunds, claims, redemptions,
points and expiries through the services, on both backends, and after every step checks:
every transaction's legs sum to zero, balances equal the sum of entries and are never
negative, issued coupons never exceed stock — and that balances match a simple model."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.orm import Session

from tests.offers.support import (
    issued_within_stock,
    key,
    ledger_invariants,
    make_customers,
    make_order,
    threshold_template,
)
from tests.support.factories import SYSTEM, make_store
from yutang.kit.clock import set_now_source, utcnow
from yutang.offers import repository, service
from yutang.offers.schemas import (
    ChargeIn,
    ClaimIn,
    CouponTemplateCreate,
    PointsEarnIn,
    PointsRedeemIn,
    RedemptionIn,
    StoredValueRefundIn,
    TopUpIn,
    TopUpPlanCreate,
)

AMOUNTS = st.integers(min_value=1, max_value=5_000)


def test_random_operations_keep_the_books(db: Session) -> None:
    store = make_store(db, key("H").replace("-", ""))
    customers = make_customers(db, store, 3, prefix="1361111")
    plan = service.create_plan(db, actor=SYSTEM, data=TopUpPlanCreate(
        idempotency_key=key(), name="充50送5", pay_fen=5_000, bonus_fen=500)).body["id"]
    start = utcnow()

    class Books(RuleBasedStateMachine):
        coupons = Bundle("coupons")
        charges = Bundle("charges")

        def __init__(self) -> None:
            super().__init__()
            self.now = start
            set_now_source(lambda: self.now)
            self.principal = {customer.id: self._balance(customer.id)[0]
                              for customer in customers}
            self.bonus = {customer.id: self._balance(customer.id)[1] for customer in customers}
            template = CouponTemplateCreate.model_validate(threshold_template(
                stock=4, per_customer_limit=2, threshold_fen=1_000, discount_fen=300,
                valid_days=5))
            self.template = service.create_template(db, actor=SYSTEM, data=template).body["id"]
            self.replays: list[tuple[int, TopUpIn, dict[str, object]]] = []

        def _balance(self, customer_id: int) -> tuple[int, int]:
            view = service.stored_value_of(db, actor=SYSTEM, customer_id=customer_id)
            return view.principal_fen, view.bonus_fen

        @rule(who=st.sampled_from(customers), amount=AMOUNTS, with_plan=st.booleans())
        def top_up(self, who: object, amount: int, with_plan: bool) -> None:
            customer_id = who.id  # type: ignore[attr-defined]
            use_plan = with_plan and amount >= 5_000
            data = TopUpIn(idempotency_key=key(), amount_fen=amount,
                           plan_id=plan if use_plan else None)
            outcome = service.top_up(db, actor=SYSTEM, customer_id=customer_id, data=data)
            assert outcome.succeeded, outcome.body
            self.principal[customer_id] += amount
            self.bonus[customer_id] += 500 if use_plan else 0
            self.replays.append((customer_id, data, outcome.body))

        @rule(target=charges, who=st.sampled_from(customers), amount=AMOUNTS)
        def charge(self, who: object, amount: int) -> tuple[int, str, int]:
            customer_id = who.id  # type: ignore[attr-defined]
            reference = key("ext")
            outcome = service.charge(db, actor=SYSTEM, customer_id=customer_id, data=ChargeIn(
                idempotency_key=key(), amount_fen=amount, external_order_id=reference))
            total = self.principal[customer_id] + self.bonus[customer_id]
            if amount > total:
                assert outcome.error_code == "insufficient_balance"
                return customer_id, reference, 0
            assert outcome.succeeded, outcome.body
            from_principal = min(amount, self.principal[customer_id])
            self.principal[customer_id] -= from_principal
            self.bonus[customer_id] -= amount - from_principal
            return customer_id, reference, amount

        @rule(charged=charges, share=st.floats(min_value=0.1, max_value=1.5))
        def refund_a_charge(self, charged: tuple[int, str, int], share: float) -> None:
            customer_id, reference, _ = charged
            amount = max(1, int(charged[2] * share))
            before = self._balance(customer_id)
            outcome = service.refund(db, actor=SYSTEM, customer_id=customer_id,
                                     data=StoredValueRefundIn(idempotency_key=key(),
                                                              amount_fen=amount,
                                                              external_order_id=reference))
            after = self._balance(customer_id)
            if outcome.succeeded:
                assert sum(after) - sum(before) == amount
            else:
                assert outcome.error_code == "refund_exceeds_charges"
                assert after == before
            self.principal[customer_id], self.bonus[customer_id] = after

        @rule(who=st.sampled_from(customers), amount=AMOUNTS)
        def cash_refund(self, who: object, amount: int) -> None:
            customer_id = who.id  # type: ignore[attr-defined]
            outcome = service.refund(db, actor=SYSTEM, customer_id=customer_id,
                                     data=StoredValueRefundIn(idempotency_key=key(),
                                                              amount_fen=amount))
            principal, bonus = self.principal[customer_id], self.bonus[customer_id]
            if amount > principal:
                assert outcome.error_code == "insufficient_balance"
                return
            assert outcome.succeeded, outcome.body
            self.principal[customer_id] = principal - amount
            self.bonus[customer_id] = bonus - bonus * amount // principal

        @rule(target=coupons, who=st.sampled_from(customers))
        def claim(self, who: object) -> str:
            customer_id = who.id  # type: ignore[attr-defined]
            outcome = service.claim(db, actor=SYSTEM, template_id=self.template, data=ClaimIn(
                idempotency_key=key(), customer_id=customer_id))
            if outcome.succeeded:
                return str(outcome.body["code"])
            assert outcome.error_code in ("coupon_out_of_stock", "coupon_claim_limit")
            return ""

        @rule(code=coupons, total=st.integers(min_value=500, max_value=3_000))
        def redeem(self, code: str, total: int) -> None:
            if not code:
                return
            coupon = service.coupon_read(db, actor=SYSTEM, code=code)
            customer = next(c for c in customers if c.id == coupon.customer_id)
            order = make_order(db, customer, total_fen=total, store=store)
            outcome = service.redeem(db, actor=SYSTEM, code=code, data=RedemptionIn(
                idempotency_key=key(), order_id=order.id))
            if coupon.status != "available":
                assert outcome.error_code in ("coupon_already_redeemed", "coupon_expired")
            elif coupon.valid_until is not None and coupon.valid_until <= self.now:
                assert outcome.error_code == "coupon_expired"
            elif total < 1_000:
                assert outcome.error_code == "coupon_not_applicable"
            else:
                assert outcome.succeeded, outcome.body
                assert outcome.body["discount_fen"] == 300

        @rule(who=st.sampled_from(customers), points=st.integers(min_value=1, max_value=300),
              spend=st.booleans())
        def points(self, who: object, points: int, spend: bool) -> None:
            customer_id = who.id  # type: ignore[attr-defined]
            balance = service.points_of(db, actor=SYSTEM, customer_id=customer_id).balance
            if spend:
                outcome = service.redeem_points(db, actor=SYSTEM, customer_id=customer_id,
                                                data=PointsRedeemIn(idempotency_key=key(),
                                                                    points=points))
                assert outcome.succeeded == (points <= balance), outcome.body
            else:
                outcome = service.earn_points(db, actor=SYSTEM, customer_id=customer_id,
                                              data=PointsEarnIn(idempotency_key=key(),
                                                                points=points))
                assert outcome.succeeded

        @rule(days=st.integers(min_value=1, max_value=400))
        def time_passes(self, days: int) -> None:
            self.now += timedelta(days=days)
            service.sweep(db, actor=SYSTEM, now=self.now)

        @rule()
        def replay(self) -> None:
            if self.replays:
                customer_id, data, body = self.replays[0]
                again = service.top_up(db, actor=SYSTEM, customer_id=customer_id, data=data)
                assert again.replayed and again.body == body

        @invariant()
        def books_balance(self) -> None:
            ledger_invariants(db)
            issued_within_stock(db)
            for customer in customers:
                assert self._balance(customer.id) == (self.principal[customer.id],
                                                      self.bonus[customer.id])
                points = service.points_of(db, actor=SYSTEM, customer_id=customer.id)
                assert repository.lots_remaining(db, customer.id) == points.balance >= 0

        def teardown(self) -> None:
            set_now_source(None)

    run_state_machine_as_test(Books, settings=settings(
        max_examples=10, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
