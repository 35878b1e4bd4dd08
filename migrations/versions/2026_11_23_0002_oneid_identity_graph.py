"""oneid identity graph

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:29:08.468140
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('identity_value',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('value_index', sa.String(length=32), nullable=False),
    sa.Column('value', sa.LargeBinary(), nullable=False),
    sa.Column('strength', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=200), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_value')),
    sa.UniqueConstraint('value_index', 'kind', 'scope', name=op.f('uq_identity_value_value_index_kind_scope'))
    )
    op.create_table('identity_alert',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value_id', BIG_ID, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['value_id'], ['identity_value.id'], name=op.f('fk_identity_alert_value_id_identity_value')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_alert'))
    )
    with op.batch_alter_table('identity_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_alert_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_alert_value_id'), ['value_id'], unique=False)

    op.create_table('identity_link',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('value_a_id', BIG_ID, nullable=False),
    sa.Column('value_b_id', BIG_ID, nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['value_a_id'], ['identity_value.id'], name=op.f('fk_identity_link_value_a_id_identity_value')),
    sa.ForeignKeyConstraint(['value_b_id'], ['identity_value.id'], name=op.f('fk_identity_link_value_b_id_identity_value')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_link')),
    sa.UniqueConstraint('value_a_id', 'value_b_id', name=op.f('uq_identity_link_value_a_id_value_b_id'))
    )
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_link_value_b_id'), ['value_b_id'], unique=False)

    op.create_table('merge_log',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('survivor_id', BIG_ID, nullable=False),
    sa.Column('customers_before', sa.JSON(), nullable=False),
    sa.Column('customers_after', sa.JSON(), nullable=False),
    sa.Column('value_ids', sa.JSON(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('trigger_ref', sa.String(length=128), nullable=False),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['survivor_id'], ['customer.id'], name=op.f('fk_merge_log_survivor_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_log'))
    )
    with op.batch_alter_table('merge_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_merge_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_merge_log_survivor_id'), ['survivor_id'], unique=False)

    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_value_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_customer_order_resolved_value_id_identity_value'), 'identity_value', ['resolved_value_id'], ['id'])

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_value_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_event_resolved_value_id_identity_value'), 'identity_value', ['resolved_value_id'], ['id'])

    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_id', BIG_ID, nullable=True))
        batch_op.add_column(sa.Column('origin_customer_id', BIG_ID, nullable=True))
        batch_op.create_index(batch_op.f('ix_identity_value_id'), ['value_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_identity_value_id_identity_value'), 'identity_value', ['value_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_identity_value_id_identity_value'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_identity_value_id'))
        batch_op.drop_column('origin_customer_id')
        batch_op.drop_column('value_id')

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_event_resolved_value_id_identity_value'), type_='foreignkey')
        batch_op.drop_column('resolved_value_id')

    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_order_resolved_value_id_identity_value'), type_='foreignkey')
        batch_op.drop_column('resolved_value_id')

    with op.batch_alter_table('merge_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_merge_log_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_merge_log_at'))

    op.drop_table('merge_log')
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_link_value_b_id'))

    op.drop_table('identity_link')
    with op.batch_alter_table('identity_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_alert_value_id'))
        batch_op.drop_index(batch_op.f('ix_identity_alert_at'))

    op.drop_table('identity_alert')
    op.drop_table('identity_value')
