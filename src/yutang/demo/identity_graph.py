"""The OneID graph of the demo's identities, computed with numpy while they are written.

Resolving a million customers record by record would take minutes, and so would the set-based
SQL of ``pool.graph_backfill``; the plan already knows who is whom. Each distinct (kind, scope,
value) becomes one node of ``identity_value``, each identity points at its node, and each
customer's strong usable values are linked to the customer's smallest one (the star that
incremental resolution and the backfill build too). ``plan_rebuild`` finds nothing to change
afterwards; the demo tests check it.

A strong usable value held by two customers of the plan would make them one person: the plan
is wrong, and the load stops. Weak values (a shared device) and placeholders may be shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from yutang.demo.bulk import BulkLoader
from yutang.demo.draws import IntegerArray
from yutang.demo.tables import IDENTITY_LINK, IDENTITY_VALUE
from yutang.pool.graph_backfill import placeholder_indexes
from yutang.pool.identity_rules import Strength
from yutang.pool.models import IdentityKind, IdentityStatus
from yutang.pool.oneid import OneIdPolicy

LINK_CHUNK = 200_000
NODE_CHUNK = 200_000


@dataclass(frozen=True)
class IdentityRows:
    """All identities of the plan, sorted by (blind index, kind, scope, customer)."""

    group: IntegerArray
    """Per row, its (kind, scope) group: an index into ``kinds`` and ``scopes``."""
    kinds: list[IdentityKind]
    scopes: list[str]
    value_index: NDArray[np.bytes_]
    encrypted: list[Any]
    customer: IntegerArray
    """Plan indexes (0-based)."""
    created_at: IntegerArray
    """UTC seconds."""


@dataclass
class DemoGraph:
    """Writes the nodes of the identities, then the links between each customer's values."""

    policy: OneIdPolicy
    placeholders: NDArray[np.bytes_] = field(
        default_factory=lambda: np.asarray(sorted(placeholder_indexes()), dtype="S"))
    _linkable: tuple[IntegerArray, IntegerArray, IntegerArray] | None = None
    """Customer, node id and time of each identity whose value may link."""

    def write_nodes(self, loader: BulkLoader, rows: IdentityRows) -> IntegerArray:
        """One node per distinct (blind index, kind, scope), in that order; returns each
        row's node id."""
        for kind, scope in zip(rows.kinds, rows.scopes, strict=True):
            if scope and not self.policy.rule(kind).scoped:
                raise ValueError(f"{kind.value} is not scoped; the plan gives it {scope!r}")
        count = len(rows.value_index)
        first = np.ones(count, dtype=bool)
        first[1:] = (rows.value_index[1:] != rows.value_index[:-1]) | (
            rows.group[1:] != rows.group[:-1])
        starts = np.flatnonzero(first)
        node_of_row = np.cumsum(first, dtype=np.int64) - 1
        holders = np.diff(np.append(starts, count))
        strong_groups = np.asarray(
            [self.policy.rule(kind).strength is Strength.STRONG for kind in rows.kinds],
            dtype=bool)
        group = rows.group[starts]
        strong = strong_groups[group]
        placeholder = np.isin(rows.value_index[starts], self.placeholders)
        linkable = strong & ~placeholder
        if (holders[linkable] > 1).any():
            raise ValueError("the demo plan gives one strong value to several customers")
        first_seen = np.minimum.reduceat(rows.created_at, starts) if count else starts
        kinds = np.asarray([kind.value for kind in rows.kinds], dtype=object)
        scopes = np.asarray(rows.scopes, dtype=object)
        total = len(starts)
        for begin in range(0, total, NODE_CHUNK):
            end = min(total, begin + NODE_CHUNK)
            window = slice(begin, end)
            refused = placeholder[window].tolist()
            seen = loader.instants(first_seen[window])
            loader.insert(IDENTITY_VALUE, {
                "id": range(begin + 1, end + 1),
                "kind": kinds[group[window]].tolist(),
                "scope": scopes[group[window]].tolist(),
                "value_index": rows.value_index[starts[window]].astype(str).tolist(),
                "value": [rows.encrypted[position] for position in starts[window].tolist()],
                "strength": np.where(strong[window], Strength.STRONG.value,
                                     Strength.WEAK.value).tolist(),
                "status": [IdentityStatus.PLACEHOLDER.value if flag
                           else IdentityStatus.USABLE.value for flag in refused],
                "status_reason": ["placeholder value" if flag else None for flag in refused],
                "first_seen_at": seen,
                "updated_at": seen,
            })
        linkable_rows = linkable[node_of_row]
        node_ids: IntegerArray = node_of_row + 1
        self._linkable = (rows.customer[linkable_rows], node_ids[linkable_rows],
                          rows.created_at[linkable_rows])
        return node_ids

    def write_links(self, loader: BulkLoader) -> int:
        """Link each customer's strong usable values to its smallest one; returns the count."""
        if self._linkable is None:
            raise RuntimeError("write the nodes before the links")
        customer, node, seen = self._linkable
        order = np.lexsort((node, customer))
        customer, node, seen = customer[order], node[order], seen[order]
        is_hub = np.ones(len(customer), dtype=bool)
        is_hub[1:] = customer[1:] != customer[:-1]
        hub_position = np.maximum.accumulate(np.where(is_hub, np.arange(len(customer)), 0))
        spokes = ~is_hub
        left = node[hub_position][spokes]
        right = node[spokes]
        at = np.maximum(seen[hub_position], seen)[spokes]
        by_pair = np.lexsort((right, left))
        left, right, at = left[by_pair], right[by_pair], at[by_pair]
        total = len(left)
        for start in range(0, total, LINK_CHUNK):
            stop = min(total, start + LINK_CHUNK)
            loader.insert(IDENTITY_LINK, {
                "id": range(start + 1, stop + 1),
                "value_a_id": left[start:stop].tolist(),
                "value_b_id": right[start:stop].tolist(),
                "first_seen_at": loader.instants(at[start:stop]),
            })
        return total
