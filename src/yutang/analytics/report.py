"""``yutang report daily|weekly|monthly``: input checked first, then the review written."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.analytics import repository
from yutang.analytics.engines import open_engine
from yutang.analytics.errors import ReportStoreNotFound
from yutang.analytics.extract_store import require_state
from yutang.analytics.layering import LayeringPolicy
from yutang.analytics.periods import parse_period_kind, parse_report_date
from yutang.analytics.refresh import EngineChoice
from yutang.analytics.review_files import check_output, write_review
from yutang.analytics.review_fission import with_store_fission_kpis
from yutang.analytics.reviews import Review, build_review

REPORT_ACTOR = Principal.system("report")
"""Who reads the store leaderboard for ``yutang report`` (run by an operator at the shell)."""


def make_report(
    session: Session, *, kind: str, day: str, store_code: str | None, out: Path,
    directory: Path, engine: EngineChoice, policy: LayeringPolicy, funnel_window_hours: int,
) -> Review:
    period_kind = parse_period_kind(kind)
    report_day = parse_report_date(day)
    check_output(out)
    store_id = None
    if store_code is not None:
        store_id = repository.store_id_by_code(session, store_code.strip())
        if store_id is None:
            raise ReportStoreNotFound(f"no store with the code {store_code!r}",
                                      store=store_code)
    require_state(directory)
    metric_engine = open_engine(engine.name, directory, spark_master=engine.spark_master)
    try:
        review = build_review(metric_engine, kind=period_kind, day=report_day,
                              store_id=store_id, store_code=store_code, policy=policy,
                              funnel_window_hours=funnel_window_hours)
    finally:
        metric_engine.close()
    review = with_store_fission_kpis(session, review, actor=REPORT_ACTOR)
    write_review(review, out)
    return review
