"""The event log keeps no foreign keys (ADR 0007)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEYS = (
    ('fk_event_customer_id_customer', 'customer_id', 'customer'),
    ('fk_event_store_id_store', 'store_id', 'store'),
    ('fk_event_channel_id_channel', 'channel_id', 'channel'),
    ('fk_event_resolved_value_id_identity_value', 'resolved_value_id', 'identity_value'),
)


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        for name, _, _ in FOREIGN_KEYS:
            batch_op.drop_constraint(name, type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        for name, column, table in FOREIGN_KEYS:
            batch_op.create_foreign_key(name, table, [column], ['id'])
