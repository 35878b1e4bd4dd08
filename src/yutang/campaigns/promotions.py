"""Campaigns that promote a programme: a fission task (任务宝) or a group-buy deal (拼团).

A programme reaches customers through the campaigns that promote it (``promoted_task_id`` /
``promoted_deal_id``, at most one of them per campaign). Each such campaign holds out its
stable share of customers (``holdout``), and that holdout is the programme's: the customers
it would have told about the programme and did not. ``programme_results`` compares the arms.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.campaigns.errors import InvalidCampaign
from yutang.campaigns.models import Campaign
from yutang.fission import group_buy_repository, task_repository


def check_promotion(session: Session, *, task_id: int | None, deal_id: int | None) -> None:
    """A campaign promotes at most one programme, and one that exists."""
    if task_id is not None and deal_id is not None:
        raise InvalidCampaign("a campaign promotes one programme: a fission task or a "
                              "group-buy deal, not both", field="promoted_deal_id")
    if task_id is not None and task_repository.task_by_id(session, task_id) is None:
        raise InvalidCampaign(f"unknown fission task {task_id}", field="promoted_task_id",
                              task_id=task_id)
    if deal_id is not None and group_buy_repository.deal(session, deal_id) is None:
        raise InvalidCampaign(f"unknown group-buy deal {deal_id}", field="promoted_deal_id",
                              deal_id=deal_id)


def promoting_campaigns(session: Session, *, task_id: int | None = None,
                        deal_id: int | None = None) -> Sequence[Campaign]:
    """The campaigns promoting the task (or the deal), oldest first."""
    statement = select(Campaign).order_by(Campaign.id)
    if task_id is not None:
        statement = statement.where(Campaign.promoted_task_id == task_id)
    else:
        statement = statement.where(Campaign.promoted_deal_id == deal_id)
    return session.scalars(statement).all()


def programme_choices(session: Session) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(fission tasks, group-buy deals) a campaign builder offers: (id, name), newest first."""
    tasks = [(task.id, task.name) for task in task_repository.tasks(session)]
    deals = [(deal.id, deal.name) for deal in group_buy_repository.deals(session)]
    return tasks, deals
