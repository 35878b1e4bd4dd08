"""Customer layers written back by analytics: RFM scores, value tier, lifecycle stage

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_INTEGER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rfm_recency_score', BIG_INTEGER, nullable=True))
        batch_op.add_column(sa.Column('rfm_frequency_score', BIG_INTEGER, nullable=True))
        batch_op.add_column(sa.Column('rfm_monetary_score', BIG_INTEGER, nullable=True))
        batch_op.add_column(sa.Column('value_tier', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('lifecycle_stage', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('layers_as_of', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_value_tier'), ['value_tier'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_lifecycle_stage'), ['lifecycle_stage'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_lifecycle_stage'))
        batch_op.drop_index(batch_op.f('ix_customer_value_tier'))
        batch_op.drop_column('layers_as_of')
        batch_op.drop_column('lifecycle_stage')
        batch_op.drop_column('value_tier')
        batch_op.drop_column('rfm_monetary_score')
        batch_op.drop_column('rfm_frequency_score')
        batch_op.drop_column('rfm_recency_score')
