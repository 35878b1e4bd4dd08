"""Fission metrics: K-factor with its 95% interval, conversion per step, cycle time, tree
depth, top spreaders and the share of new customers brought by fission.

The database hands over the edges as columns of numbers (one set-based read); everything
else is vectorised numpy — no per-edge Python and no sort of the edges: customer ids are
numbered through a lookup table over their (dense) range, the tree's depths come by pointer
jumping (log₂ of the depth passes), subtree sizes by one scatter-add per generation.

Definitions (docs/domains/fission.md):

- participants: customers holding a customer or KOC referral code (of the task) and every
  customer who referred someone; each participant's joins X (friends whose edge joined and
  was not rejected); K = mean X = invites per participant × conversion (joins / invites);
  95% interval K ± 1.96 · s/√n (the central limit theorem over participants);
- steps: clicked → joined → first order → rewarded, each counted where reached and not
  rejected;
- cycle time: a friend's join minus their referrer's own join;
- depth: the joined customer-to-customer tree (a customer without a customer referrer is a
  root, depth 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, PersonalDataView, Principal
from yutang.fission import metrics_repository as repository
from yutang.fission.errors import InvalidMetricsPeriod
from yutang.fission.metrics_ids import compact
from yutang.fission.metrics_repository import EdgeColumns, Scope
from yutang.fission.metrics_schemas import (
    CycleTimeRead,
    DepthRead,
    FissionMetricsRead,
    KFactorRead,
    SpreaderRead,
    StepRead,
)
from yutang.kit.clock import ensure_utc
from yutang.pool import service as pool_service

Z_95 = 1.959963984540054
DAY = 86_400.0
TOP_SPREADERS = 10
MAX_JUMPS = 64
"""Pointer jumping doubles the reach each pass: 64 passes cover any tree (and stop a
cycle, which the referral rules never make, from looping)."""


@dataclass(frozen=True)
class Tree:
    """The joined forest over compact node numbers."""

    nodes: NDArray[np.int64]
    """Customer id of each node."""
    parent: NDArray[np.int64]
    """Node number of the parent, -1 for a root."""
    depth: NDArray[np.int64]
    descendants: NDArray[np.int64]
    direct: NDArray[np.int64]
    edge_child: NDArray[np.int64]
    """Node number of each edge's referee."""
    edge_parent: NDArray[np.int64]
    """Node number of each edge's referrer, -1 for none."""


def fission_metrics(session: Session, *, actor: Principal, task_id: int | None = None,
                    since: datetime | None = None,
                    until: datetime | None = None) -> FissionMetricsRead:
    access_service.require(actor, Permission.ANALYTICS_READ)
    since = ensure_utc(since) if since else None
    until = ensure_utc(until) if until else None
    if since and until and until <= since:
        raise InvalidMetricsPeriod("until must be after since", since=since.isoformat(),
                                   until=until.isoformat())
    scope = Scope(task_id=task_id, since=since, until=until,
                  store_id=actor.store_id if actor.is_store_scoped else None)
    edges = repository.edge_columns(session, scope)
    holders = repository.code_holders(session, scope)
    total_new, from_fission = repository.new_customers(session, scope, edges)
    pseudonymous = actor.personal_data_view is PersonalDataView.PSEUDONYMOUS
    return compute(edges, holders, scope=scope, new_customers=total_new,
                   new_from_fission=from_fission, pseudonymous=pseudonymous)


def compute(edges: EdgeColumns, holders: NDArray[np.int64], *, scope: Scope,
            new_customers: int, new_from_fission: int,
            pseudonymous: bool = False) -> FissionMetricsRead:
    """Every metric from the edge columns (pure numpy; the bench times this with the read)."""
    valid = edges.referee != edges.referrer  # a merge may fold a referrer into the referee
    live = valid & ~edges.rejected
    joined = live & (edges.joined >= 0)
    tree = build_tree(edges.referee[joined], edges.referrer[joined])
    return FissionMetricsRead(
        task_id=scope.task_id, since=scope.since, until=scope.until, edges=int(valid.sum()),
        rejected=int((valid & edges.rejected).sum()),
        k_factor=k_factor(edges, valid, joined, holders),
        steps=steps(edges, valid, live), cycle_time=cycle_time(edges, joined, tree),
        depth=depth_of(tree), top_spreaders=top_spreaders(tree, pseudonymous),
        new_customers=new_customers, new_from_fission=new_from_fission,
        share_new_from_fission=_ratio(new_from_fission, new_customers))


def _ratio(part: int | float, whole: int | float) -> float | None:
    return float(part) / float(whole) if whole else None


def k_factor(edges: EdgeColumns, valid: NDArray[np.bool_], joined: NDArray[np.bool_],
             holders: NDArray[np.int64]) -> KFactorRead:
    by_customer = valid & (edges.referrer > 0)
    join_referrers = edges.referrer[joined & (edges.referrer > 0)]
    nodes, (holder_at, referrer_at, join_at) = compact(holders, edges.referrer[by_customer],
                                                      join_referrers)
    participating = np.zeros(nodes.shape[0], dtype=np.bool_)
    participating[holder_at[holder_at >= 0]] = True
    participating[referrer_at] = True
    n = int(np.count_nonzero(participating))
    invites = int(by_customer.sum())
    joins = int(join_referrers.shape[0])
    if n == 0:
        return KFactorRead(value=0.0, lower=0.0, upper=0.0, participants=0, invites=invites,
                           joins=joins, invites_per_participant=0.0, conversion=0.0)
    per_participant = np.bincount(join_at, minlength=nodes.shape[0])
    total = float(per_participant.sum())
    squares = float((per_participant.astype(np.float64) ** 2).sum())  # zeros add nothing
    mean = total / n
    variance = (squares - n * mean * mean) / (n - 1) if n > 1 else 0.0
    half = Z_95 * float(np.sqrt(max(variance, 0.0) / n))
    return KFactorRead(value=mean, lower=max(0.0, mean - half), upper=mean + half,
                       participants=n, invites=invites, joins=joins,
                       invites_per_participant=invites / n,
                       conversion=joins / invites if invites else 0.0)


def steps(edges: EdgeColumns, valid: NDArray[np.bool_],
          live: NDArray[np.bool_]) -> list[StepRead]:
    counts = [("clicked", int(valid.sum())),
              ("joined", int((live & (edges.joined >= 0)).sum())),
              ("first_order", int((live & (edges.first_order >= 0)).sum())),
              ("rewarded", int((live & edges.rewarded).sum()))]
    clicked = counts[0][1]
    result = []
    for position, (step, count) in enumerate(counts):
        previous = counts[position - 1][1] if position else None
        result.append(StepRead(step=step, count=count,
                               rate_from_previous=_ratio(count, previous or 0)
                               if position else None,
                               rate_from_clicked=_ratio(count, clicked)))
    return result


def _median(values: NDArray[np.float64], unit: float) -> float | None:
    return float(np.median(values)) / unit if values.shape[0] else None


def cycle_time(edges: EdgeColumns, joined: NDArray[np.bool_], tree: Tree) -> CycleTimeRead:
    """``tree`` is ``build_tree`` of the ``joined`` edges. A referrer's own join is their
    first joined edge (in edge order) as a referee."""
    joined_at = edges.joined[joined]
    count = joined_at.shape[0]
    first_edge = np.full(tree.nodes.shape[0], count, dtype=np.int64)
    np.minimum.at(first_edge, tree.edge_child, np.arange(count, dtype=np.int64))
    referrer_at = tree.edge_parent
    has_parent = referrer_at >= 0
    parent_edge = np.where(has_parent, first_edge[np.maximum(referrer_at, 0)], count)
    has_parent &= parent_edge < count
    cycles = joined_at[has_parent] - joined_at[parent_edge[has_parent]]
    click_to_join = joined_at - edges.clicked[joined]
    ordered = joined & (edges.first_order >= 0)
    join_to_order = edges.first_order[ordered] - edges.joined[ordered]
    return CycleTimeRead(
        samples=int(cycles.shape[0]), median_days=_median(cycles, DAY),
        mean_days=float(cycles.mean()) / DAY if cycles.shape[0] else None,
        click_to_join_median_hours=_median(click_to_join, 3_600.0),
        join_to_first_order_median_days=_median(join_to_order, DAY))


def build_tree(referees: NDArray[np.int64], referrers: NDArray[np.int64]) -> Tree:
    """The forest of joined edges: depths by pointer jumping, descendants and direct joins
    added up one generation at a time, deepest first."""
    nodes, (child, above) = compact(referees, referrers)
    size = nodes.shape[0]
    parent = np.full(size, -1, dtype=np.int64)
    has_referrer = above >= 0
    parent[child[has_referrer]] = above[has_referrer]
    depth = (parent >= 0).astype(np.int64)
    jump = parent.copy()
    for _ in range(MAX_JUMPS):
        reach = jump >= 0
        if not reach.any():
            break
        target = np.where(reach, jump, 0)
        depth = depth + np.where(reach, depth[target], 0)
        jump = np.where(reach, jump[target], -1)
    has_parent = parent >= 0
    direct = np.bincount(parent[has_parent], minlength=size).astype(np.int64)
    descendants = np.zeros(size, dtype=np.int64)
    if size:
        by_depth = np.argsort(depth, kind="stable")
        bounds = np.searchsorted(depth[by_depth], np.arange(int(depth.max()) + 2))
        for level in range(int(depth.max()), 0, -1):
            at_level = by_depth[bounds[level]:bounds[level + 1]]
            np.add.at(descendants, parent[at_level], descendants[at_level] + 1)
    return Tree(nodes=nodes, parent=parent, depth=depth, descendants=descendants,
                direct=direct, edge_child=child, edge_parent=above)


def depth_of(tree: Tree) -> DepthRead:
    if tree.nodes.shape[0] == 0:
        return DepthRead(max_depth=0, mean_depth=0.0, customers_by_depth=[])
    by_depth = np.bincount(tree.depth)
    return DepthRead(max_depth=int(tree.depth.max()), mean_depth=float(tree.depth.mean()),
                     customers_by_depth=[int(count) for count in by_depth])


def top_spreaders(tree: Tree, pseudonymous: bool,
                  limit: int = TOP_SPREADERS) -> list[SpreaderRead]:
    spreading = np.flatnonzero(tree.direct > 0)
    if spreading.shape[0] == 0:
        return []
    if spreading.shape[0] > limit:  # only those with at least the limit-th most direct joins
        floor = np.partition(tree.direct[spreading], -limit)[-limit]
        spreading = spreading[tree.direct[spreading] >= floor]
    # Most direct joins first, then most descendants, then the lower customer id.
    order = np.lexsort((tree.nodes[spreading], -tree.descendants[spreading],
                        -tree.direct[spreading]))[:limit]
    chosen = spreading[order]
    return [SpreaderRead(customer_id=None if pseudonymous else int(tree.nodes[node]),
                         customer_ref=pool_service.pseudonym_of(int(tree.nodes[node])),
                         direct_joins=int(tree.direct[node]),
                         descendants=int(tree.descendants[node]))
            for node in chosen]
