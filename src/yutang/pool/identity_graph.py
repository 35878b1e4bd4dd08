"""The identity graph's pure arithmetic: which values are too widely shared to link anyone,
and which values form one person (connected components). Used by incremental resolution
(a few values at a time) and by the batch rebuild (millions of links, vectorised)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

Node = TypeVar("Node", bound=Hashable)


def small_components(nodes: Iterable[Node], links: Iterable[tuple[Node, Node]]) -> list[set[Node]]:
    """Connected components of a small graph (a customer's values), in first-seen node order."""
    parent: dict[Node, Node] = {}
    order: list[Node] = []
    for node in nodes:
        if node not in parent:
            parent[node] = node
            order.append(node)

    def root(node: Node) -> Node:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for left, right in links:
        if left in parent and right in parent:
            left_root, right_root = root(left), root(right)
            if left_root != right_root:
                parent[right_root] = left_root
    groups: dict[Node, set[Node]] = {}
    for node in order:
        groups.setdefault(root(node), set()).add(node)
    return list(groups.values())


def widely_shared(
    node_count: int, left: NDArray[np.integer], right: NDArray[np.integer],
    node_class: NDArray[np.integer], bound: int,
) -> NDArray[np.bool_]:
    """Nodes linked to more than ``bound`` distinct neighbours of any one class (a class is an
    identity kind and scope). Links are distinct unordered pairs, so counting links per
    (node, neighbour class) counts distinct neighbours. Vectorised, O(links)."""
    shared = np.zeros(node_count, dtype=np.bool_)
    degree = np.bincount(left, minlength=node_count) + np.bincount(right, minlength=node_count)
    candidate = degree > bound
    if not candidate.any():
        return shared  # no node has more neighbours than the bound, in any class
    # Only nodes with more links than the bound can fan out too widely within one class.
    classes = int(node_class.max()) + 1 if node_class.size else 1
    candidates = np.flatnonzero(candidate)
    compact = np.cumsum(candidate, dtype=np.int64) - 1  # candidate node → 0..k-1
    counts = np.zeros(candidates.size * classes, dtype=np.int64)
    for ends, neighbours in ((left, right), (right, left)):
        touching = candidate[ends]
        keys = compact[ends[touching]] * classes + node_class[neighbours[touching]]
        counts += np.bincount(keys, minlength=counts.size)
    over = np.flatnonzero(counts > bound) // classes
    shared[candidates[over]] = True
    return shared


def batch_labels(
    node_count: int,
    left: NDArray[np.integer],
    right: NDArray[np.integer],
    node_class: NDArray[np.integer],
    linkable: NDArray[np.bool_],
    bound: int,
) -> tuple[NDArray[np.int32], NDArray[np.bool_]]:
    """The batch form of OneID: which values are too widely shared (fan-out above ``bound``),
    and the person (component label) of every value over the links that remain.

    ``linkable`` marks strong, usable values; a shared or refused value keeps its own label.
    Returns (labels, shared).
    """
    shared = linkable & widely_shared(node_count, left, right, node_class, bound)
    usable = linkable & ~shared
    if usable.all():
        return component_labels(node_count, left, right), shared
    keep = usable[left] & usable[right]
    return component_labels(node_count, left[keep], right[keep]), shared


def component_labels(
    node_count: int, left: NDArray[np.integer], right: NDArray[np.integer]
) -> NDArray[np.int32]:
    """Connected-component label of each of ``node_count`` nodes over the links ``left–right``."""
    # SciPy is imported here: it costs a third of a second, and most commands never label.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    weights = np.ones(left.size, dtype=np.int8)
    graph = coo_matrix((weights, (left, right)), shape=(node_count, node_count)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int32)
