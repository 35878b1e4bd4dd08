"""The identity graph's pure arithmetic: which values are too widely shared to link anyone,
and which values form one person (connected components). Used by incremental resolution
(a few values at a time) and by the batch rebuild (millions of links).

The batch kernels are compiled with Numba: a union-find and a fan-out count are single passes
over the links, where the vectorised forms needed a dozen passes and SciPy's
``connected_components`` a sparse matrix, its transpose and a traversal (the figures are in
``bench/bench_oneid.py``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

import numpy as np
from numba import njit
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
    (node, neighbour class) counts distinct neighbours. Compiled, three passes, O(links)."""
    classes = int(node_class.max()) + 1 if node_class.size else 1
    return _widely_shared(node_count, left, right, node_class, classes, bound)


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
    return _component_labels(node_count, left, right, usable), shared


def component_labels(
    node_count: int, left: NDArray[np.integer], right: NDArray[np.integer]
) -> NDArray[np.int32]:
    """Connected-component label of each of ``node_count`` nodes over the links ``left–right``:
    components are numbered in the order of their smallest node (as SciPy's
    ``connected_components`` numbers them)."""
    return _component_labels(node_count, left, right, np.ones(node_count, dtype=np.bool_))


# --- compiled kernels (Numba; compiled once per machine and cached on disk) -----------------


@njit(cache=True, nogil=True)
def _widely_shared(node_count: int, left: Any, right: Any, node_class: Any, classes: int,
                   bound: int) -> NDArray[np.bool_]:  # pragma: no cover - compiled
    degree = np.zeros(node_count, dtype=np.int32)
    for link in range(left.size):
        degree[left[link]] += 1
        degree[right[link]] += 1
    # Only nodes with more links than the bound can fan out too widely within one class.
    compact = np.full(node_count, -1, dtype=np.int32)
    candidates = 0
    for node in range(node_count):
        if degree[node] > bound:
            compact[node] = candidates
            candidates += 1
    shared = np.zeros(node_count, dtype=np.bool_)
    if candidates == 0:
        return shared
    counts = np.zeros((candidates, classes), dtype=np.int32)
    for link in range(left.size):
        a, b = left[link], right[link]
        if compact[a] >= 0:
            counts[compact[a], node_class[b]] += 1
        if compact[b] >= 0:
            counts[compact[b], node_class[a]] += 1
    for node in range(node_count):
        row = compact[node]
        if row >= 0:
            for kind in range(classes):
                if counts[row, kind] > bound:
                    shared[node] = True
                    break
    return shared


@njit(cache=True, nogil=True)
def _root(parent: Any, node: int) -> int:  # pragma: no cover - compiled
    while parent[node] != node:
        parent[node] = parent[parent[node]]  # path halving
        node = parent[node]
    return node


@njit(cache=True, nogil=True)
def _component_labels(node_count: int, left: Any, right: Any,
                      usable: Any) -> NDArray[np.int32]:  # pragma: no cover - compiled
    """Union-find over the links whose both ends are usable; a component's root is its
    smallest node, so one pass in node order numbers components by their smallest node."""
    parent = np.arange(node_count, dtype=np.int32)
    for link in range(left.size):
        a, b = left[link], right[link]
        if not (usable[a] and usable[b]):
            continue
        root_a, root_b = _root(parent, a), _root(parent, b)
        if root_a < root_b:
            parent[root_b] = root_a
        elif root_b < root_a:
            parent[root_a] = root_b
    labels = np.empty(node_count, dtype=np.int32)
    next_label = 0
    for node in range(node_count):
        root = _root(parent, node)
        if root == node:
            labels[node] = next_label
            next_label += 1
        else:
            labels[node] = labels[root]
    return labels
