"""Planted truth: the demo's staff Moments. Every store's staff have the customers who came in
through the store's WeCom channel as friends; the Moments figures of each planted task equal
the planted ones (who posted, the reach, the potential reach); the closed tasks' other posts
expired, the open task's still wait on the staff members' phone pages."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM
from yutang.access.models import User
from yutang.access.service import principal_for_user
from yutang.campaigns import moments
from yutang.campaigns.moments_models import MomentPost
from yutang.campaigns.moments_reach import friend_counts
from yutang.demo.generator import DemoOptions, generate_demo
from yutang.demo.models import PlantedTruth
from yutang.kit.db import create_engine
from yutang.migrate import upgrade
from yutang.org.models import Store
from yutang.pool.models import Channel, Customer


def test_the_moments_figures_are_the_planted_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'moments-demo.db'}"
    upgrade(url)
    engine = create_engine(url)
    generate_demo(engine, DemoOptions(customers=4_000, stores=3, seed=11))
    with Session(engine) as session:
        truth = session.scalars(select(PlantedTruth.value).where(
            PlantedTruth.name == "moments")).one()
        # Friends: exactly the WeCom-channel customers, split between the store's staff.
        wecom_customers = session.scalar(select(func.count()).select_from(Customer).join(
            Channel, Channel.id == Customer.acquisition_channel_id).where(
            Channel.kind == "wecom", Customer.merged_into_id.is_(None)))
        assert truth["staff"] == 6 and truth["friends"] == wecom_customers > 0
        staff_ids = list(session.scalars(select(User.id).where(User.role == "staff")))
        assert sum(friend_counts(session, staff_user_ids=staff_ids).values()) == \
            truth["friends"]
        stray = session.scalar(select(func.count()).select_from(Customer).join(
            Channel, Channel.id == Customer.acquisition_channel_id).where(
            Customer.acquisition_staff_id.is_not(None), Channel.kind != "wecom"))
        assert stray == 0

        reads = {read.id: read for read in moments.list_tasks(session, actor=SYSTEM)}
        assert len(reads) == 3
        for key, planted in truth["tasks"].items():
            read = reads[planted["task_id"]]
            assert (read.assigned, read.posted, read.reach, read.potential_reach) == (
                planted["assigned"], planted["posted"], planted["reach"],
                planted["potential_reach"]), key
            stored = session.execute(select(MomentPost.status, func.count()).where(
                MomentPost.task_id == read.id).group_by(MomentPost.status)).all()
            if key == "this_week":
                assert not read.is_due and read.expired == 0
                assert dict(stored).get("pending", 0) == read.pending == \
                    planted["assigned"] - planted["posted"] > 0
            else:
                assert read.is_due and read.pending == 0
                assert dict(stored).get("expired", 0) == read.expired == \
                    planted["assigned"] - planted["posted"]
        assert truth["tasks"]["members_day"]["assigned"] == 2  # the first of three stores
        assert truth["tasks"]["strawberry_season"]["assigned"] == 6
        assert 0 < truth["tasks"]["strawberry_season"]["reach"] < \
            truth["tasks"]["strawberry_season"]["potential_reach"]

        # The open task waits on the phone page of each staff member who did not post yet.
        open_task = truth["tasks"]["this_week"]
        waiting = [user for user in session.scalars(select(User).where(User.role == "staff"))
                   if user.id not in open_task["posted_staff"]]
        for user in waiting:
            mine = moments.my_posts(session, actor=principal_for_user(user))
            assert [item.task_id for item in mine] == [open_task["task_id"]]
            store_name = session.get_one(Store, user.store_id).name
            assert mine[0].text == (
                f"{store_name}草莓季开始了！当季丹东草莓到店，本周末会员第二盒半价。")
    engine.dispose()
