"""Group-buy deals, teams, members, refunds and team timelines; bargains and their helps

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('group_buy_deal',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('product_sku', sa.String(length=64), nullable=False),
    sa.Column('product_id', BIG_ID, nullable=True),
    sa.Column('bait_price_fen', BIG_ID, nullable=False),
    sa.Column('list_price_fen', BIG_ID, nullable=False),
    sa.Column('full_order_threshold_fen', BIG_ID, nullable=True),
    sa.Column('team_size', BIG_ID, nullable=False),
    sa.Column('time_limit_minutes', BIG_ID, nullable=False),
    sa.Column('stock', BIG_ID, nullable=False),
    sa.Column('sold', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('store_id', BIG_ID, nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('bait_price_fen <= list_price_fen', name=op.f('ck_group_buy_deal_bait_not_above_list')),
    sa.CheckConstraint('sold <= stock', name=op.f('ck_group_buy_deal_sold_within_stock')),
    sa.CheckConstraint('sold >= 0', name=op.f('ck_group_buy_deal_sold_not_negative')),
    sa.CheckConstraint('team_size >= 2', name=op.f('ck_group_buy_deal_team_of_two_or_more')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_group_buy_deal_product_id_product')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_group_buy_deal_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_buy_deal'))
    )
    with op.batch_alter_table('group_buy_deal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_buy_deal_product_sku'), ['product_sku'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_buy_deal_store_id'), ['store_id'], unique=False)

    op.create_table('bargain',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('starter_key', BIG_ID, nullable=False),
    sa.Column('store_id', BIG_ID, nullable=True),
    sa.Column('product_sku', sa.String(length=64), nullable=False),
    sa.Column('product_id', BIG_ID, nullable=True),
    sa.Column('list_price_fen', BIG_ID, nullable=False),
    sa.Column('floor_price_fen', BIG_ID, nullable=False),
    sa.Column('helps_needed', BIG_ID, nullable=False),
    sa.Column('helps_done', BIG_ID, nullable=False),
    sa.Column('cut_fen', BIG_ID, nullable=False),
    sa.Column('cuts_fen', sa.JSON(), nullable=False),
    sa.Column('seed', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint('cut_fen <= list_price_fen - floor_price_fen', name=op.f('ck_bargain_cut_within_gap')),
    sa.CheckConstraint('floor_price_fen >= 0', name=op.f('ck_bargain_floor_not_negative')),
    sa.CheckConstraint('helps_done <= helps_needed', name=op.f('ck_bargain_helps_within_needed')),
    sa.CheckConstraint('helps_done >= 0', name=op.f('ck_bargain_helps_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_bargain_customer_id_customer')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_bargain_product_id_product')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_bargain_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bargain'))
    )
    with op.batch_alter_table('bargain', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bargain_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_bargain_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bargain_store_id'), ['store_id'], unique=False)

    op.create_table('group_buy_team',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('deal_id', BIG_ID, nullable=False),
    sa.Column('leader_customer_id', BIG_ID, nullable=False),
    sa.Column('store_id', BIG_ID, nullable=True),
    sa.Column('team_size', BIG_ID, nullable=False),
    sa.Column('filled', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('succeeded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('filled <= team_size', name=op.f('ck_group_buy_team_filled_within_size')),
    sa.CheckConstraint('filled >= 0', name=op.f('ck_group_buy_team_filled_not_negative')),
    sa.ForeignKeyConstraint(['deal_id'], ['group_buy_deal.id'], name=op.f('fk_group_buy_team_deal_id_group_buy_deal')),
    sa.ForeignKeyConstraint(['leader_customer_id'], ['customer.id'], name=op.f('fk_group_buy_team_leader_customer_id_customer')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_group_buy_team_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_buy_team'))
    )
    with op.batch_alter_table('group_buy_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_buy_team_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_buy_team_leader_customer_id'), ['leader_customer_id'], unique=False)
        batch_op.create_index('ix_group_buy_team_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_group_buy_team_store_opened', ['store_id', 'opened_at'], unique=False)

    op.create_table('bargain_help',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('bargain_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('helper_key', BIG_ID, nullable=False),
    sa.Column('sequence', BIG_ID, nullable=False),
    sa.Column('cut_fen', BIG_ID, nullable=False),
    sa.Column('helped_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cut_fen >= 1', name=op.f('ck_bargain_help_cut_positive')),
    sa.ForeignKeyConstraint(['bargain_id'], ['bargain.id'], name=op.f('fk_bargain_help_bargain_id_bargain')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_bargain_help_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bargain_help')),
    sa.UniqueConstraint('bargain_id', 'helper_key', name=op.f('uq_bargain_help_bargain_id_helper_key')),
    sa.UniqueConstraint('bargain_id', 'sequence', name=op.f('uq_bargain_help_bargain_id_sequence'))
    )
    with op.batch_alter_table('bargain_help', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bargain_help_customer_id'), ['customer_id'], unique=False)

    op.create_table('group_buy_team_event',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('team_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_group_buy_team_event_customer_id_customer')),
    sa.ForeignKeyConstraint(['team_id'], ['group_buy_team.id'], name=op.f('fk_group_buy_team_event_team_id_group_buy_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_buy_team_event'))
    )
    with op.batch_alter_table('group_buy_team_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_buy_team_event_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_buy_team_event_team_id'), ['team_id'], unique=False)

    op.create_table('group_buy_member',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('team_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('member_key', BIG_ID, nullable=False),
    sa.Column('seat', BIG_ID, nullable=False),
    sa.Column('order_id', BIG_ID, nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('seat >= 1', name=op.f('ck_group_buy_member_seat_positive')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_group_buy_member_customer_id_customer')),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_group_buy_member_order_id_customer_order')),
    sa.ForeignKeyConstraint(['team_id'], ['group_buy_team.id'], name=op.f('fk_group_buy_member_team_id_group_buy_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_buy_member')),
    sa.UniqueConstraint('team_id', 'member_key', name=op.f('uq_group_buy_member_team_id_member_key')),
    sa.UniqueConstraint('team_id', 'seat', name=op.f('uq_group_buy_member_team_id_seat'))
    )
    with op.batch_alter_table('group_buy_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_buy_member_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_buy_member_order_id'), ['order_id'], unique=False)

    op.create_table('group_buy_refund',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('member_id', BIG_ID, nullable=False),
    sa.Column('team_id', BIG_ID, nullable=False),
    sa.Column('order_id', BIG_ID, nullable=False),
    sa.Column('amount_fen', BIG_ID, nullable=False),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['group_buy_member.id'], name=op.f('fk_group_buy_refund_member_id_group_buy_member')),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_group_buy_refund_order_id_customer_order')),
    sa.ForeignKeyConstraint(['team_id'], ['group_buy_team.id'], name=op.f('fk_group_buy_refund_team_id_group_buy_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_buy_refund')),
    sa.UniqueConstraint('member_id', name=op.f('uq_group_buy_refund_member_id')),
    sa.UniqueConstraint('order_id', name=op.f('uq_group_buy_refund_order_id'))
    )
    with op.batch_alter_table('group_buy_refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_buy_refund_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('group_buy_refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_buy_refund_team_id'))

    op.drop_table('group_buy_refund')
    with op.batch_alter_table('group_buy_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_buy_member_order_id'))
        batch_op.drop_index(batch_op.f('ix_group_buy_member_customer_id'))

    op.drop_table('group_buy_member')
    with op.batch_alter_table('group_buy_team_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_buy_team_event_team_id'))
        batch_op.drop_index(batch_op.f('ix_group_buy_team_event_customer_id'))

    op.drop_table('group_buy_team_event')
    with op.batch_alter_table('bargain_help', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bargain_help_customer_id'))

    op.drop_table('bargain_help')
    with op.batch_alter_table('group_buy_team', schema=None) as batch_op:
        batch_op.drop_index('ix_group_buy_team_store_opened')
        batch_op.drop_index('ix_group_buy_team_status_expires')
        batch_op.drop_index(batch_op.f('ix_group_buy_team_leader_customer_id'))
        batch_op.drop_index(batch_op.f('ix_group_buy_team_deal_id'))

    op.drop_table('group_buy_team')
    with op.batch_alter_table('bargain', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bargain_store_id'))
        batch_op.drop_index('ix_bargain_status_expires')
        batch_op.drop_index(batch_op.f('ix_bargain_customer_id'))

    op.drop_table('bargain')
    with op.batch_alter_table('group_buy_deal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_buy_deal_store_id'))
        batch_op.drop_index(batch_op.f('ix_group_buy_deal_product_sku'))

    op.drop_table('group_buy_deal')
