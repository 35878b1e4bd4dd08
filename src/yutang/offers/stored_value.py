"""Stored value (储值): top-ups (with plans: top up 5,000 get 500), charges against orders,
refunds; principal and bonus kept on separate ledger accounts.

- A **charge** spends principal first, then bonus.
- A **charge refund** (the refund names the order) gives the order's charge back to the
  balance, bonus first (the reverse of the charge), never more than the order was charged.
- A **cash refund** (no order) pays principal back; the bonus is forfeited in proportion
  (all of it when all the principal is refunded) unless the policy makes bonus refundable.

Every movement locks the customer's accounts first (``ledger.lock_customer``), decides the
split on those balances, and posts; each customer leg is still one conditional statement
that cannot take a balance below zero.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.offers import ledger, ledger_repository, repository
from yutang.offers.errors import (
    InsufficientBalance,
    InvalidTopUp,
    RefundExceedsCharges,
    TopUpPlanNotFound,
)
from yutang.offers.ledger import Leg
from yutang.offers.lookups import resolve_customer, resolve_order
from yutang.offers.models import AccountKind, LedgerAccount, TopUpPlan, TransactionKind
from yutang.offers.policy import DEFAULT_POLICY, OffersPolicy
from yutang.offers.schemas import (
    LedgerEntryRead,
    StoredValueRead,
    StoredValueTransactionRead,
    TopUpPlanCreate,
)

PRINCIPAL = AccountKind.STORED_VALUE_PRINCIPAL
BONUS = AccountKind.STORED_VALUE_BONUS
KINDS = (PRINCIPAL, BONUS)
TRANSACTION_KINDS = (TransactionKind.TOP_UP, TransactionKind.CHARGE,
                     TransactionKind.CHARGE_REFUND, TransactionKind.CASH_REFUND,
                     TransactionKind.CONSOLIDATION, TransactionKind.CORRECTION)


def create_plan(session: Session, *, actor: Principal, data: TopUpPlanCreate) -> TopUpPlan:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    plan = TopUpPlan(name=data.name, pay_fen=data.pay_fen, bonus_fen=data.bonus_fen,
                     is_active=True)
    session.add(plan)
    session.flush()
    access_service.record_audit(session, actor=actor, action="top_up_plan.create",
                                entity_type="top_up_plan", entity_id=plan.id,
                                details={"pay_fen": plan.pay_fen, "bonus_fen": plan.bonus_fen})
    return plan


def top_up(session: Session, *, actor: Principal, customer_id: int, amount_fen: int,
           plan_id: int | None = None) -> StoredValueTransactionRead:
    access_service.require(actor, Permission.OFFERS_OPERATE)
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    bonus = 0
    if plan_id is not None:
        plan = repository.plan(session, plan_id)
        if plan is None or not plan.is_active:
            raise TopUpPlanNotFound(f"no top-up plan {plan_id}", plan_id=plan_id)
        if amount_fen < plan.pay_fen:
            raise InvalidTopUp(f"the plan needs a top-up of at least {plan.pay_fen} fen",
                               pay_fen=plan.pay_fen)
        bonus = plan.bonus_fen
    accounts = ledger.lock_customer(session, customer_id=customer.id, kinds=KINDS,
                                    actor_name=actor.name)
    legs = [Leg(accounts[PRINCIPAL].id, PRINCIPAL, amount_fen),
            Leg(ledger.merchant_account(session, AccountKind.CASH), AccountKind.CASH,
                -amount_fen)]
    if bonus:
        legs += [Leg(accounts[BONUS].id, BONUS, bonus),
                 Leg(ledger.merchant_account(session, AccountKind.BONUS_FUNDING),
                     AccountKind.BONUS_FUNDING, -bonus)]
    posted = ledger.post(session, kind=TransactionKind.TOP_UP, legs=legs,
                         customer_id=customer.id, actor_name=actor.name, plan_id=plan_id)
    return _result(posted, TransactionKind.TOP_UP, customer.id, accounts, amount=amount_fen,
                   principal=amount_fen, bonus=bonus)


def charge(session: Session, *, actor: Principal, customer_id: int, amount_fen: int,
           order_id: int | None = None, source: str | None = None,
           external_order_id: str | None = None) -> StoredValueTransactionRead:
    """Pay for an order from the balance: ``insufficient_balance`` if it does not cover it."""
    access_service.require(actor, Permission.OFFERS_OPERATE)
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    order = (resolve_order(session, actor=actor, order_id=order_id, source=source,
                           external_order_id=external_order_id)
             if order_id is not None or external_order_id else None)
    accounts = ledger.lock_customer(session, customer_id=customer.id, kinds=KINDS,
                                    actor_name=actor.name)
    principal, bonus = _balance(accounts[PRINCIPAL]), _balance(accounts[BONUS])
    if principal + bonus < amount_fen:
        raise InsufficientBalance(
            f"the balance of {principal + bonus} fen does not cover {amount_fen} fen",
            balance_fen=principal + bonus, amount_fen=amount_fen)
    from_principal = min(amount_fen, principal)
    from_bonus = amount_fen - from_principal
    legs = [Leg(accounts[PRINCIPAL].id, PRINCIPAL, -from_principal),
            Leg(accounts[BONUS].id, BONUS, -from_bonus),
            Leg(ledger.merchant_account(session, AccountKind.SALES), AccountKind.SALES,
                amount_fen)]
    posted = ledger.post(session, kind=TransactionKind.CHARGE, legs=legs,
                         customer_id=customer.id, actor_name=actor.name,
                         order_id=order.id if order else None,
                         reference=external_order_id or "", insufficient=InsufficientBalance)
    return _result(posted, TransactionKind.CHARGE, customer.id, accounts, amount=amount_fen,
                   principal=-from_principal, bonus=-from_bonus,
                   order_id=order.id if order else None, reference=external_order_id or "")


def refund(session: Session, *, actor: Principal, customer_id: int, amount_fen: int,
           order_id: int | None = None, source: str | None = None,
           external_order_id: str | None = None,
           policy: OffersPolicy = DEFAULT_POLICY) -> StoredValueTransactionRead:
    access_service.require(actor, Permission.OFFERS_OPERATE)
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    if order_id is None and not external_order_id:
        return _cash_refund(session, actor=actor, customer_id=customer.id,
                            amount_fen=amount_fen, policy=policy)
    order = resolve_order(session, actor=actor, order_id=order_id, source=source,
                          external_order_id=external_order_id)
    accounts = ledger.lock_customer(session, customer_id=customer.id, kinds=KINDS,
                                    actor_name=actor.name)
    reference = "" if order is not None else (external_order_id or "")
    moved = ledger_repository.order_movements(session, customer_id=customer.id,
                                       order_id=order.id if order else None,
                                       reference=reference)
    charged = {kind: -moved.get((TransactionKind.CHARGE.value, kind.value), 0)
               for kind in KINDS}
    returned = {kind: moved.get((TransactionKind.CHARGE_REFUND.value, kind.value), 0)
                for kind in KINDS}
    open_bonus = charged[BONUS] - returned[BONUS]
    open_principal = charged[PRINCIPAL] - returned[PRINCIPAL]
    if amount_fen > open_bonus + open_principal:
        raise RefundExceedsCharges(
            f"only {open_bonus + open_principal} fen charged on this order is not refunded",
            refundable_fen=open_bonus + open_principal, amount_fen=amount_fen)
    to_bonus = min(amount_fen, open_bonus)
    to_principal = amount_fen - to_bonus
    legs = [Leg(accounts[PRINCIPAL].id, PRINCIPAL, to_principal),
            Leg(accounts[BONUS].id, BONUS, to_bonus),
            Leg(ledger.merchant_account(session, AccountKind.SALES), AccountKind.SALES,
                -amount_fen)]
    posted = ledger.post(session, kind=TransactionKind.CHARGE_REFUND, legs=legs,
                         customer_id=customer.id, actor_name=actor.name,
                         order_id=order.id if order else None, reference=reference)
    return _result(posted, TransactionKind.CHARGE_REFUND, customer.id, accounts,
                   amount=amount_fen, principal=to_principal, bonus=to_bonus,
                   order_id=order.id if order else None, reference=reference)


def _cash_refund(session: Session, *, actor: Principal, customer_id: int, amount_fen: int,
                 policy: OffersPolicy) -> StoredValueTransactionRead:
    accounts = ledger.lock_customer(session, customer_id=customer_id, kinds=KINDS,
                                    actor_name=actor.name)
    principal, bonus = _balance(accounts[PRINCIPAL]), _balance(accounts[BONUS])
    refundable = principal + bonus if policy.bonus_refundable else principal
    if amount_fen > refundable:
        raise InsufficientBalance(
            f"only {refundable} fen can be refunded", balance_fen=refundable,
            amount_fen=amount_fen)
    cash = ledger.merchant_account(session, AccountKind.CASH)
    from_principal = min(amount_fen, principal)
    from_bonus = amount_fen - from_principal
    legs = [Leg(accounts[PRINCIPAL].id, PRINCIPAL, -from_principal),
            Leg(accounts[BONUS].id, BONUS, -from_bonus),
            Leg(cash, AccountKind.CASH, amount_fen)]
    forfeited = 0
    if not policy.bonus_refundable and bonus and principal:
        forfeited = bonus * from_principal // principal
        legs += [Leg(accounts[BONUS].id, BONUS, -forfeited),
                 Leg(ledger.merchant_account(session, AccountKind.FORFEITED),
                     AccountKind.FORFEITED, forfeited)]
    posted = ledger.post(session, kind=TransactionKind.CASH_REFUND, legs=legs,
                         customer_id=customer_id, actor_name=actor.name,
                         insufficient=InsufficientBalance,
                         memo=f"bonus forfeited: {forfeited}" if forfeited else "")
    return _result(posted, TransactionKind.CASH_REFUND, customer_id, accounts,
                   amount=amount_fen, principal=-from_principal, bonus=-from_bonus - forfeited)


def _balance(account: LedgerAccount) -> int:
    return account.balance or 0


def _result(posted: ledger.Posted, kind: TransactionKind, customer_id: int,
            accounts: dict[AccountKind, LedgerAccount], *, amount: int, principal: int,
            bonus: int,
            order_id: int | None = None, reference: str = "") -> StoredValueTransactionRead:
    principal_balance = posted.balances.get(accounts[PRINCIPAL].id,
                                            _balance(accounts[PRINCIPAL]))
    bonus_balance = posted.balances.get(accounts[BONUS].id, _balance(accounts[BONUS]))
    return StoredValueTransactionRead(
        transaction_id=posted.transaction_id, kind=kind.value, customer_id=customer_id,
        at=posted.at, amount_fen=amount, principal_fen=principal,
        bonus_fen=bonus, order_id=order_id, reference=reference,
        balance_fen=principal_balance + bonus_balance,
        principal_balance_fen=principal_balance, bonus_balance_fen=bonus_balance)


def view(session: Session, *, actor: Principal, customer_id: int,
         limit: int = 100) -> StoredValueRead:
    """Balances as sums of the customer's entries, and their movements, newest first."""
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    sums = ledger_repository.entry_sums_by_kind(session, customer.id,
                                                [kind.value for kind in KINDS])
    transactions = ledger_repository.customer_transactions(
        session, customer.id, [kind.value for kind in TRANSACTION_KINDS], limit=limit)
    legs = ledger_repository.legs_by_transaction(session, [row.id for row in transactions])
    entries = []
    for row in transactions:
        moved = {kind: 0 for kind in KINDS}
        for account_kind, amount in legs.get(row.id, []):
            if account_kind in (PRINCIPAL.value, BONUS.value):
                moved[AccountKind(account_kind)] += amount
        entries.append(LedgerEntryRead(
            transaction_id=row.id, kind=row.kind, at=row.at, principal_fen=moved[PRINCIPAL],
            bonus_fen=moved[BONUS], order_id=row.order_id, reference=row.reference))
    principal = sums.get(PRINCIPAL.value, 0)
    bonus = sums.get(BONUS.value, 0)
    return StoredValueRead(customer_id=customer.id, balance_fen=principal + bonus,
                           principal_fen=principal, bonus_fen=bonus, entries=entries)
