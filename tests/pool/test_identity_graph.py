"""The batch form of OneID agrees with incremental resolution on the same records."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from yutang.pool.identity_graph import batch_labels, small_components, widely_shared


def test_fan_out_counts_distinct_neighbours_per_class() -> None:
    # node 0 (a phone) linked to unionids 1, 2, 3 (class 1) and a taobao id 4 (class 2)
    left = np.array([0, 0, 0, 0], dtype=np.int64)
    right = np.array([1, 2, 3, 4], dtype=np.int64)
    classes = np.array([0, 1, 1, 1, 2], dtype=np.int64)
    assert widely_shared(5, left, right, classes, bound=2).tolist() == [
        True, False, False, False, False]
    assert not widely_shared(5, left, right, classes, bound=3).any()


def test_a_hub_above_the_bound_stops_linking() -> None:
    left = np.array([0, 0, 0, 0, 1], dtype=np.int64)
    right = np.array([1, 2, 3, 4, 5], dtype=np.int64)
    classes = np.array([0, 1, 1, 1, 1, 2], dtype=np.int64)
    linkable = np.ones(6, dtype=bool)
    labels, shared = batch_labels(6, left, right, classes, linkable, bound=3)
    assert shared.tolist() == [True, False, False, False, False, False]
    assert labels[1] == labels[5]
    assert len({labels[1], labels[2], labels[3], labels[4], labels[0]}) == 5


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19)), max_size=40))
def test_batch_components_equal_the_small_union_find(pairs: list[tuple[int, int]]) -> None:
    links = sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b})
    left = np.array([a for a, _ in links], dtype=np.int64)
    right = np.array([b for _, b in links], dtype=np.int64)
    labels, shared = batch_labels(20, left, right, np.zeros(20, dtype=np.int64),
                                  np.ones(20, dtype=bool), bound=1000)
    assert not shared.any()
    groups = small_components(range(20), links)
    for group in groups:
        assert len({int(labels[node]) for node in group}) == 1
    assert len(groups) == len(set(labels.tolist()))
