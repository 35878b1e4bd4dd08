"""The referral tree around one customer or one task, for the console's tree view: one
set-based query per generation, never one per customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import task_repository, tasks
from yutang.fission.models import EdgeStatus
from yutang.fission.referral_repository import edge_of_referee, edges_from
from yutang.pool import service as pool_service

MAX_GENERATIONS = 8
MAX_NODES = 600


@dataclass
class TreeNode:
    customer_id: int | None
    status: str
    """How this customer came in: the edge status, ``root`` or ``task``."""
    joined_at: datetime | None = None
    children: list[TreeNode] = field(default_factory=list)
    truncated: bool = False
    """More children exist than the view shows."""


def _grow(session: Session, roots: list[TreeNode], budget: int,
          generations: int = MAX_GENERATIONS) -> int:
    """Add the descendants of ``roots`` generation by generation within ``budget`` nodes;
    the nodes added."""
    frontier: dict[int | None, TreeNode] = {
        node.customer_id: node for node in roots if node.customer_id is not None}
    added = 0
    for _ in range(generations):
        if not frontier or added >= budget:
            break
        edges = edges_from(session, sorted(key for key in frontier if key is not None),
                            budget - added + 1)
        next_frontier: dict[int | None, TreeNode] = {}
        for edge in edges[:budget - added]:
            parent = frontier.get(edge.referrer_customer_id)
            if parent is None or edge.referee_customer_id in next_frontier:
                continue
            child = TreeNode(customer_id=edge.referee_customer_id, status=edge.status,
                             joined_at=edge.joined_at)
            parent.children.append(child)
            if edge.status != EdgeStatus.REJECTED.value:
                next_frontier[child.customer_id] = child
            added += 1
        if len(edges) > budget - added:
            for node in frontier.values():
                node.truncated = True
        frontier = next_frontier
    return added


def customer_tree(session: Session, *, actor: Principal, customer_id: int,
                  max_nodes: int = MAX_NODES) -> TreeNode:
    """The customer's line up to its root (one child per ancestor), then everyone below
    the customer."""
    access_service.require(actor, Permission.CUSTOMERS_READ)
    customer = pool_service.get_customer(session, principal=actor, customer_id=customer_id)
    edge = edge_of_referee(session, customer.id)
    node = TreeNode(customer_id=customer.id, status=edge.status if edge else "root",
                    joined_at=edge.joined_at if edge else None)
    _grow(session, [node], max_nodes)
    seen = {customer.id}
    while edge is not None and edge.referrer_customer_id is not None \
            and edge.referrer_customer_id not in seen:
        seen.add(edge.referrer_customer_id)
        above = edge_of_referee(session, edge.referrer_customer_id)
        node = TreeNode(customer_id=edge.referrer_customer_id,
                        status=above.status if above else "root",
                        joined_at=above.joined_at if above else None, children=[node])
        edge = above
    return node


def task_tree(session: Session, *, actor: Principal, task_id: int,
              max_nodes: int = MAX_NODES) -> TreeNode:
    """The task's participants and the friends who came through their task codes."""
    access_service.require(actor, Permission.CUSTOMERS_READ)
    task = tasks.get_task(session, task_id=task_id)
    participants = list(task_repository.participants_of_task(session, task.id, max_nodes))
    root = TreeNode(customer_id=None, status="task", truncated=len(participants) >= max_nodes)
    nodes: dict[int | None, TreeNode] = {
        participant.customer_id: TreeNode(customer_id=participant.customer_id,
                                          status="participant", joined_at=participant.started_at)
        for participant in participants}
    root.children.extend(nodes.values())
    budget = max_nodes - len(nodes)
    referrers = sorted(key for key in nodes if key is not None)
    for edge in edges_from(session, referrers, max(budget, 0), task_id=task.id):
        parent = nodes.get(edge.referrer_customer_id)
        if parent is not None:
            parent.children.append(TreeNode(customer_id=edge.referee_customer_id,
                                            status=edge.status, joined_at=edge.joined_at))
    return root
