"""Building the identity graph for identities written without it (a bulk load, data from
before OneID): one node per distinct value, and links joining each customer's strong values.

Set-based SQL that runs on SQLite and PostgreSQL alike, so a million customers take seconds.
Placeholders are recognised by the blind indexes of the known placeholder values (the
plaintext is not read back); afterwards the pool equals what ``oneid_rebuild`` computes.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from yutang.kit.clock import utcnow
from yutang.kit.crypto import get_protector
from yutang.kit.db import UTCDateTime
from yutang.pool.identity_rules import PLACEHOLDER_PHONES, PLACEHOLDER_WORDS
from yutang.pool.models import IdentityKind, IdentityStatus

_NODES = text("""
INSERT INTO identity_value (kind, scope, value_index, value, strength, status, first_seen_at,
                            updated_at)
SELECT kind, scope, value_index, value,
       CASE WHEN kind IN :weak THEN 'weak' ELSE 'strong' END, 'usable', created_at, created_at
FROM (SELECT kind, scope, value_index, value, created_at,
             ROW_NUMBER() OVER (PARTITION BY value_index, kind, scope ORDER BY id) AS position
      FROM identity WHERE value_id IS NULL) AS first_sightings
WHERE position = 1
ON CONFLICT DO NOTHING
""").bindparams(bindparam("weak", expanding=True))

_POINT = text("""
UPDATE identity SET value_id = (
    SELECT node.id FROM identity_value AS node
    WHERE node.value_index = identity.value_index AND node.kind = identity.kind
      AND node.scope = identity.scope)
WHERE value_id IS NULL
""")

_PLACEHOLDERS = text("""
UPDATE identity_value SET status = :status, status_reason = 'placeholder value'
WHERE value_index IN :indexes AND status = 'usable'
""").bindparams(bindparam("indexes", expanding=True))

_LINKS = text("""
INSERT INTO identity_link (value_a_id, value_b_id, first_seen_at)
SELECT DISTINCT hub.hub_id, member.value_id, :now
FROM identity AS member
JOIN identity_value AS node ON node.id = member.value_id
JOIN (SELECT carried.customer_id, MIN(carried.value_id) AS hub_id
      FROM identity AS carried
      JOIN identity_value AS hub_node ON hub_node.id = carried.value_id
      WHERE hub_node.strength = 'strong' AND hub_node.status = 'usable'
      GROUP BY carried.customer_id) AS hub ON hub.customer_id = member.customer_id
WHERE node.strength = 'strong' AND node.status = 'usable' AND member.value_id > hub.hub_id
ON CONFLICT DO NOTHING
""").bindparams(bindparam("now", type_=UTCDateTime()))


def placeholder_indexes() -> list[str]:
    """Blind indexes of the known placeholder values of every kind."""
    protector = get_protector()
    indexes = [protector.blind_index(word, kind.value)
               for kind in IdentityKind for word in PLACEHOLDER_WORDS]
    indexes += [protector.blind_index(phone, IdentityKind.PHONE.value)
                for phone in PLACEHOLDER_PHONES]
    return indexes


def backfill_graph(session: Session, weak_kinds: Collection[str] = ("device_id",)) -> None:
    """Nodes for identities without one, placeholders refused, each customer's values linked."""
    session.execute(_NODES, {"weak": sorted(weak_kinds) or [""]})
    session.execute(_POINT)
    session.execute(_PLACEHOLDERS, {"status": IdentityStatus.PLACEHOLDER.value,
                                    "indexes": placeholder_indexes()})
    session.execute(_LINKS, {"now": utcnow()})
