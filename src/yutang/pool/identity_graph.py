"""The identity graph's pure arithmetic: which values are too widely shared to link anyone,
and which values form one person (connected components). Used by incremental resolution
(a few values at a time) and by the batch rebuild (millions of links, vectorised)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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


def fan_out_by_class(
    node: NDArray[np.int64], neighbour: NDArray[np.int64], neighbour_class: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Vectorised ``widest_fan_out`` over numbered nodes: result[i] for node i (0 if unseen).

    Each link must be given in both directions by the caller.
    """
    size = int(node.max()) + 1 if node.size else 0
    if not node.size:
        return np.zeros(0, dtype=np.int64)
    triples = np.unique(np.stack([node, neighbour_class, neighbour], axis=1), axis=0)
    pairs, counts = np.unique(triples[:, :2], axis=0, return_counts=True)
    result = np.zeros(size, dtype=np.int64)
    np.maximum.at(result, pairs[:, 0], counts)
    return result


def component_labels(
    node_count: int, left: NDArray[np.int64], right: NDArray[np.int64]
) -> NDArray[np.int32]:
    """Connected-component label of each of ``node_count`` nodes over the links ``left–right``."""
    weights = np.ones(left.size, dtype=np.int8)
    graph = coo_matrix((weights, (left, right)), shape=(node_count, node_count)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int32)


