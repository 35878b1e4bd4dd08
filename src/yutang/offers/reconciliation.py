"""The daily reconciliation of stored value: what customers hold equals what the ledger says.

For a day (Asia/Shanghai): opening and closing principal and bonus (sums of entries before
the day's start and end), the day's movements by transaction kind, and the checks —
opening + movements = closing; customer liabilities = the sum of customers' balances =
minus the merchant side; no transaction whose legs do not sum to zero; no running balance
that differs from the sum of its entries; no negative customer balance.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import local_day_start_utc
from yutang.offers import ledger_repository
from yutang.offers.models import AccountKind, LedgerUnit
from yutang.offers.schemas import ReconciliationLine, ReconciliationRead

PRINCIPAL = AccountKind.STORED_VALUE_PRINCIPAL.value
BONUS = AccountKind.STORED_VALUE_BONUS.value


def reconcile(session: Session, *, actor: Principal, day: date) -> ReconciliationRead:
    if not (actor.can(Permission.OFFERS_MANAGE) or actor.can(Permission.ANALYTICS_READ)):
        access_service.require(actor, Permission.OFFERS_MANAGE)
    start = local_day_start_utc(day)
    end = local_day_start_utc(day + timedelta(days=1))
    accounts = {account.id: account for account in ledger_repository.all_accounts(session)}
    opening = ledger_repository.account_entry_sums(session, before=start)
    closing = ledger_repository.account_entry_sums(session, before=end)
    current = ledger_repository.account_entry_sums(session)

    def total(sums: dict[int, int], kind: str) -> int:
        return sum(amount for account_id, amount in sums.items()
                   if accounts[account_id].kind == kind and accounts[account_id].customer_id
                   is not None)

    moved: dict[str, dict[str, int]] = defaultdict(lambda: {PRINCIPAL: 0, BONUS: 0})
    for (transaction_kind, account_kind), amount in ledger_repository.movements_by_kind(
            session, since=start, before=end).items():
        if account_kind in (PRINCIPAL, BONUS):
            moved[transaction_kind][account_kind] += amount
    movements = [ReconciliationLine(kind=kind, principal_fen=values[PRINCIPAL],
                                    bonus_fen=values[BONUS])
                 for kind, values in sorted(moved.items())]
    opening_principal, opening_bonus = total(opening, PRINCIPAL), total(opening, BONUS)
    closing_principal, closing_bonus = total(closing, PRINCIPAL), total(closing, BONUS)
    liabilities = closing_principal + closing_bonus
    merchant_side = -sum(
        amount for account_id, amount in closing.items()
        if accounts[account_id].customer_id is None
        and accounts[account_id].unit == LedgerUnit.FEN.value)
    points_outstanding = total(closing, AccountKind.POINTS.value)
    unbalanced = ledger_repository.unbalanced_transactions(session, before=end)
    mismatches = sorted(
        account.id for account in accounts.values()
        if account.customer_id is not None and (account.balance or 0) != current.get(account.id, 0))
    negative = sorted(account.id for account in accounts.values()
                      if account.customer_id is not None and (account.balance or 0) < 0)
    flows_add_up = (
        opening_principal + sum(line.principal_fen for line in movements) == closing_principal
        and opening_bonus + sum(line.bonus_fen for line in movements) == closing_bonus)
    return ReconciliationRead(
        day=day, opening_principal_fen=opening_principal, opening_bonus_fen=opening_bonus,
        movements=movements, closing_principal_fen=closing_principal,
        closing_bonus_fen=closing_bonus, customer_liabilities_fen=liabilities,
        merchant_side_fen=merchant_side, points_outstanding=points_outstanding,
        unbalanced_transactions=unbalanced, balance_mismatches=mismatches,
        negative_balances=negative,
        ok=(flows_add_up and liabilities == merchant_side and not unbalanced
            and not mismatches and not negative),
    )
