"""identity keyed by its blind index first; the redundant lookup index goes

The unique (value_index, kind, scope, customer_id) serves lookups by (kind, scope,
value_index), as ``identity_value``'s key does, and bulk loads sorted by blind index append to
every index of the table instead of inserting all over one of them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_lookup')
        batch_op.drop_constraint('uq_identity_kind_scope_value_index_customer_id', type_='unique')
        batch_op.create_unique_constraint(
            'uq_identity_value_index_kind_scope_customer_id',
            ['value_index', 'kind', 'scope', 'customer_id'])


def downgrade() -> None:
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.drop_constraint('uq_identity_value_index_kind_scope_customer_id', type_='unique')
        batch_op.create_unique_constraint(
            'uq_identity_kind_scope_value_index_customer_id',
            ['kind', 'scope', 'value_index', 'customer_id'])
        batch_op.create_index('ix_identity_lookup', ['kind', 'scope', 'value_index'], unique=False)
