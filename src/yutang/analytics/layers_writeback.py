"""The one write of the analytics package: layers back onto the customers, for segments and
the console. Only rows whose layers changed are written; one audit row says what was done."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.analytics import repository
from yutang.kit.clock import local_day_start_utc

_RENAMES = {"recency_score": "rfm_recency_score", "frequency_score": "rfm_frequency_score",
            "monetary_score": "rfm_monetary_score"}
_SCHEMA = {"customer_id": pl.Int64, "rfm_recency_score": pl.Int64,
           "rfm_frequency_score": pl.Int64, "rfm_monetary_score": pl.Int64,
           "value_tier": pl.String, "lifecycle_stage": pl.String}


def write_back_layers(
    session: Session, *, actor: Principal, layers: pl.DataFrame, as_of: date
) -> int:
    """Write ``layers`` (``compute_layers``' rows) onto the live customers; returns how many
    customers' layers changed."""
    computed = layers.rename(_RENAMES).select(list(_SCHEMA))
    current = pl.DataFrame(repository.current_layers(session), schema=_SCHEMA, orient="row")
    joined = computed.join(current, on="customer_id", how="inner", suffix="_now")
    differs = pl.any_horizontal(
        pl.col(name).ne_missing(pl.col(f"{name}_now")) for name in repository.LAYER_COLUMNS)
    changed = joined.filter(differs).select(list(_SCHEMA))
    repository.update_layers(session, changed.to_dicts())
    repository.stamp_layers_as_of(session, as_of=as_of,
                                  acquired_before=local_day_start_utc(as_of))
    tiers = dict(computed.group_by("value_tier").len().iter_rows())
    stages = dict(computed.group_by("lifecycle_stage").len().iter_rows())
    access_service.record_audit(
        session, actor=actor, action="analytics.layers_written", entity_type="customer",
        details={"as_of": as_of.isoformat(), "customers": computed.height,
                 "changed": changed.height, "value_tiers": tiers, "lifecycle_stages": stages},
    )
    session.flush()
    return changed.height
