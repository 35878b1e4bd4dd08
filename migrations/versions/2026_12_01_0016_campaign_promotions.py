"""Campaigns that promote a fission task or a group-buy deal (their holdout is the programme's)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 20:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('promoted_task_id', BIG_ID, nullable=True))
        batch_op.add_column(sa.Column('promoted_deal_id', BIG_ID, nullable=True))
        batch_op.create_index(batch_op.f('ix_campaign_promoted_task_id'), ['promoted_task_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_promoted_deal_id'), ['promoted_deal_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_campaign_promoted_task_id_fission_task'),
                                    'fission_task', ['promoted_task_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_campaign_promoted_deal_id_group_buy_deal'),
                                    'group_buy_deal', ['promoted_deal_id'], ['id'])
        batch_op.create_check_constraint(
            batch_op.f('ck_campaign_promotes_one_programme'),
            'promoted_task_id IS NULL OR promoted_deal_id IS NULL')


def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_campaign_promotes_one_programme'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_campaign_promoted_deal_id_group_buy_deal'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_campaign_promoted_task_id_fission_task'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_campaign_promoted_deal_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_promoted_task_id'))
        batch_op.drop_column('promoted_deal_id')
        batch_op.drop_column('promoted_task_id')
