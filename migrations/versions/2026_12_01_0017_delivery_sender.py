"""The staff member whose confirmation a delivery's mass-send task needed (operator load)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and without an index: planning inserts millions of rows without it, the
    # sender sets it when the delivery's task is created, and the operator-load report reads
    # it from the week's sent deliveries (found through ``status, not_before``).
    with op.batch_alter_table('campaign_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_userid', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_delivery', schema=None) as batch_op:
        batch_op.drop_column('sender_userid')
