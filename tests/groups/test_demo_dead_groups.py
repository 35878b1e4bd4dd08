"""The demo's planted dead groups are found by the dead-group rule with precision and recall
of at least 0.95 (here: exactly), borderline-alive groups are left alive, and the health the
console shows agrees with the marks — on a small demo generated through the real generator."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from yutang.demo.generator import DemoOptions, generate_demo
from yutang.demo.models import PlantedTruth
from yutang.groups import health
from yutang.groups.models import Group, GroupStatus
from yutang.kit.db import create_engine
from yutang.migrate import upgrade


def test_planted_dead_groups_are_found(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo-groups.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        generate_demo(engine, DemoOptions(customers=600, stores=4, seed=11))
        with Session(engine) as session:
            truth = session.scalars(select(PlantedTruth.value).where(
                PlantedTruth.name == "groups")).one()
            planted = set(truth["dead_group_ids"])
            groups = list(session.scalars(select(Group)))
            assert truth["groups"] == len(groups) == 24
            marked = {group.id for group in groups if group.status == GroupStatus.DEAD.value}
            found = marked & planted
            precision = len(found) / len(marked)
            recall = len(found) / len(planted)
            assert precision >= 0.95 and recall >= 0.95, (sorted(marked), sorted(planted))
            assert len(planted) == 12
            assert not set(truth["borderline_alive_ids"]) & marked
            # The rule recomputed now (read-only) agrees with the stored marks.
            as_of = datetime.fromisoformat(truth["as_of"])
            verdicts = health.judge(session, groups, rule=health.DEFAULT_RULE, as_of=as_of)
            assert {gid for gid, verdict in verdicts.items()
                    if verdict.status == health.DEAD} == marked
            reasons = {verdicts[gid].reason for gid in marked}
            assert reasons == {"probe_not_claimed", "low_activity"}
            assert all(verdicts[gid].status == health.ALIVE
                       for gid in {group.id for group in groups} - marked)
    finally:
        engine.dispose()
