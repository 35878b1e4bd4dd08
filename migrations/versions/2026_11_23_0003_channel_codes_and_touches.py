"""channel codes and touches

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:03:02.875788
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('channel_code',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('channel_id', BIG_ID, nullable=False),
    sa.Column('store_id', BIG_ID, nullable=True),
    sa.Column('staff_user_id', BIG_ID, nullable=True),
    sa.Column('campaign', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_channel_code_channel_id_channel')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['app_user.id'], name=op.f('fk_channel_code_staff_user_id_app_user')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_channel_code_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_code')),
    sa.UniqueConstraint('state', name=op.f('uq_channel_code_state'))
    )
    with op.batch_alter_table('channel_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_code_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_code_store_id'), ['store_id'], unique=False)

    op.create_table('touch',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('channel_id', BIG_ID, nullable=False),
    sa.Column('store_id', BIG_ID, nullable=True),
    sa.Column('staff_user_id', BIG_ID, nullable=True),
    sa.Column('code_id', BIG_ID, nullable=True),
    sa.Column('event_id', sa.String(length=128), nullable=True),
    sa.Column('resolved_value_id', BIG_ID, nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_touch_channel_id_channel')),
    sa.ForeignKeyConstraint(['code_id'], ['channel_code.id'], name=op.f('fk_touch_code_id_channel_code')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_touch_customer_id_customer')),
    sa.ForeignKeyConstraint(['resolved_value_id'], ['identity_value.id'], name=op.f('fk_touch_resolved_value_id_identity_value')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['app_user.id'], name=op.f('fk_touch_staff_user_id_app_user')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_touch_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_touch'))
    )
    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_touch_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_touch_code_id'), ['code_id'], unique=False)
        batch_op.create_index('ix_touch_customer_at', ['customer_id', 'at'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acquisition_staff_id', BIG_ID, nullable=True))
        batch_op.add_column(sa.Column('acquisition_code_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_customer_acquisition_staff_id_app_user'), 'app_user', ['acquisition_staff_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_customer_acquisition_code_id_channel_code'), 'channel_code', ['acquisition_code_id'], ['id'])

    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_touch_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_customer_order_last_touch_id_touch'), 'touch', ['last_touch_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_order_last_touch_id_touch'), type_='foreignkey')
        batch_op.drop_column('last_touch_id')

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_acquisition_code_id_channel_code'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_customer_acquisition_staff_id_app_user'), type_='foreignkey')
        batch_op.drop_column('acquisition_code_id')
        batch_op.drop_column('acquisition_staff_id')

    with op.batch_alter_table('touch', schema=None) as batch_op:
        batch_op.drop_index('ix_touch_customer_at')
        batch_op.drop_index(batch_op.f('ix_touch_code_id'))
        batch_op.drop_index(batch_op.f('ix_touch_channel_id'))

    op.drop_table('touch')
    with op.batch_alter_table('channel_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_code_store_id'))
        batch_op.drop_index(batch_op.f('ix_channel_code_channel_id'))

    op.drop_table('channel_code')
