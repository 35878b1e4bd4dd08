"""Fission: referral codes and edges, fission tasks with participants and rewards, partners
with offers and cross-referrals, and the cursor and watch list of the first-order reaction

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fission_cursor',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('position', BIG_ID, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_fission_cursor'))
    )
    op.create_table('partner',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('outbound_code', sa.String(length=64), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner')),
    sa.UniqueConstraint('code', name=op.f('uq_partner_code'))
    )
    op.create_table('fission_task',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('invite_target', BIG_ID, nullable=False),
    sa.Column('window_days', BIG_ID, nullable=False),
    sa.Column('reward_kind', sa.String(length=16), nullable=False),
    sa.Column('coupon_template_id', BIG_ID, nullable=True),
    sa.Column('reward_points', BIG_ID, nullable=True),
    sa.Column('product_sku', sa.String(length=64), nullable=True),
    sa.Column('commission_points', BIG_ID, nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('invite_target >= 1', name=op.f('ck_fission_task_invite_target_positive')),
    sa.CheckConstraint('window_days >= 1', name=op.f('ck_fission_task_window_days_positive')),
    sa.ForeignKeyConstraint(['coupon_template_id'], ['coupon_template.id'], name=op.f('fk_fission_task_coupon_template_id_coupon_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fission_task'))
    )
    op.create_table('partner_offer',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('partner_id', BIG_ID, nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price_fen', BIG_ID, nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_partner_offer_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_offer'))
    )
    with op.batch_alter_table('partner_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_offer_partner_id'), ['partner_id'], unique=False)

    op.create_table('partner_referral',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('partner_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('customer_key', BIG_ID, nullable=False),
    sa.Column('offer_id', BIG_ID, nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_partner_referral_customer_id_customer')),
    sa.ForeignKeyConstraint(['offer_id'], ['partner_offer.id'], name=op.f('fk_partner_referral_offer_id_partner_offer')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_partner_referral_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_referral')),
    sa.UniqueConstraint('partner_id', 'customer_key', name=op.f('uq_partner_referral_partner_id_customer_key'))
    )
    with op.batch_alter_table('partner_referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_referral_customer_id'), ['customer_id'], unique=False)

    op.create_table('referral_code',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('owner_kind', sa.String(length=16), nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=True),
    sa.Column('staff_user_id', BIG_ID, nullable=True),
    sa.Column('partner_id', BIG_ID, nullable=True),
    sa.Column('task_id', BIG_ID, nullable=True),
    sa.Column('store_id', BIG_ID, nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_referral_code_customer_id_customer')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_referral_code_partner_id_partner')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['app_user.id'], name=op.f('fk_referral_code_staff_user_id_app_user')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_referral_code_store_id_store')),
    sa.ForeignKeyConstraint(['task_id'], ['fission_task.id'], name=op.f('fk_referral_code_task_id_fission_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_code')),
    sa.UniqueConstraint('code', name=op.f('uq_referral_code_code'))
    )
    with op.batch_alter_table('referral_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_code_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_code_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_code_staff_user_id'), ['staff_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_code_store_id'), ['store_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_code_task_id'), ['task_id'], unique=False)

    op.create_table('fission_task_participant',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('task_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('participant_key', BIG_ID, nullable=False),
    sa.Column('code_id', BIG_ID, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('qualified', BIG_ID, nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['code_id'], ['referral_code.id'], name=op.f('fk_fission_task_participant_code_id_referral_code')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_fission_task_participant_customer_id_customer')),
    sa.ForeignKeyConstraint(['task_id'], ['fission_task.id'], name=op.f('fk_fission_task_participant_task_id_fission_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fission_task_participant')),
    sa.UniqueConstraint('task_id', 'participant_key', name=op.f('uq_fission_task_participant_task_id_participant_key'))
    )
    with op.batch_alter_table('fission_task_participant', schema=None) as batch_op:
        batch_op.create_index('ix_fission_task_participant_customer_task', ['customer_id', 'task_id'], unique=False)

    op.create_table('fission_watched_order',
    sa.Column('order_id', BIG_ID, nullable=False),
    sa.Column('watched_since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_fission_watched_order_order_id_customer_order')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_fission_watched_order'))
    )
    op.create_table('referral_edge',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('code_id', BIG_ID, nullable=False),
    sa.Column('task_id', BIG_ID, nullable=True),
    sa.Column('referrer_kind', sa.String(length=16), nullable=False),
    sa.Column('referrer_customer_id', BIG_ID, nullable=True),
    sa.Column('referrer_staff_id', BIG_ID, nullable=True),
    sa.Column('referrer_partner_id', BIG_ID, nullable=True),
    sa.Column('referee_customer_id', BIG_ID, nullable=False),
    sa.Column('referee_key', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_order_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_order_id', BIG_ID, nullable=True),
    sa.Column('rewarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.String(length=200), nullable=False),
    sa.Column('counted_for_id', BIG_ID, nullable=True),
    sa.ForeignKeyConstraint(['code_id'], ['referral_code.id'], name=op.f('fk_referral_edge_code_id_referral_code')),
    sa.ForeignKeyConstraint(['counted_for_id'], ['fission_task_participant.id'], name=op.f('fk_referral_edge_counted_for_id_fission_task_participant')),
    sa.ForeignKeyConstraint(['first_order_id'], ['customer_order.id'], name=op.f('fk_referral_edge_first_order_id_customer_order')),
    sa.ForeignKeyConstraint(['referee_customer_id'], ['customer.id'], name=op.f('fk_referral_edge_referee_customer_id_customer')),
    sa.ForeignKeyConstraint(['referrer_customer_id'], ['customer.id'], name=op.f('fk_referral_edge_referrer_customer_id_customer')),
    sa.ForeignKeyConstraint(['referrer_partner_id'], ['partner.id'], name=op.f('fk_referral_edge_referrer_partner_id_partner')),
    sa.ForeignKeyConstraint(['referrer_staff_id'], ['app_user.id'], name=op.f('fk_referral_edge_referrer_staff_id_app_user')),
    sa.ForeignKeyConstraint(['task_id'], ['fission_task.id'], name=op.f('fk_referral_edge_task_id_fission_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_edge')),
    sa.UniqueConstraint('referee_key', name=op.f('uq_referral_edge_referee_key'))
    )
    with op.batch_alter_table('referral_edge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_edge_clicked_at'), ['clicked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_edge_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_edge_counted_for_id'), ['counted_for_id'], unique=False)
        batch_op.create_index('ix_referral_edge_referee_status', ['referee_customer_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_edge_referrer_partner_id'), ['referrer_partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_edge_referrer_staff_id'), ['referrer_staff_id'], unique=False)
        batch_op.create_index('ix_referral_edge_referrer_status', ['referrer_customer_id', 'status'], unique=False)
        batch_op.create_index('ix_referral_edge_task_referrer', ['task_id', 'referrer_customer_id'], unique=False)

    op.create_table('fission_reward',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('reward_key', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('task_id', BIG_ID, nullable=True),
    sa.Column('participant_id', BIG_ID, nullable=True),
    sa.Column('edge_id', BIG_ID, nullable=True),
    sa.Column('coupon_template_id', BIG_ID, nullable=True),
    sa.Column('points', BIG_ID, nullable=True),
    sa.Column('product_sku', sa.String(length=64), nullable=True),
    sa.Column('coupon_code', sa.String(length=24), nullable=True),
    sa.Column('attempts', BIG_ID, nullable=False),
    sa.Column('last_error', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['coupon_template_id'], ['coupon_template.id'], name=op.f('fk_fission_reward_coupon_template_id_coupon_template')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_fission_reward_customer_id_customer')),
    sa.ForeignKeyConstraint(['edge_id'], ['referral_edge.id'], name=op.f('fk_fission_reward_edge_id_referral_edge')),
    sa.ForeignKeyConstraint(['participant_id'], ['fission_task_participant.id'], name=op.f('fk_fission_reward_participant_id_fission_task_participant')),
    sa.ForeignKeyConstraint(['task_id'], ['fission_task.id'], name=op.f('fk_fission_reward_task_id_fission_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fission_reward')),
    sa.UniqueConstraint('reward_key', name=op.f('uq_fission_reward_reward_key'))
    )
    with op.batch_alter_table('fission_reward', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fission_reward_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_fission_reward_status_id', ['status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fission_reward_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('fission_reward', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fission_reward_task_id'))
        batch_op.drop_index('ix_fission_reward_status_id')
        batch_op.drop_index(batch_op.f('ix_fission_reward_customer_id'))

    op.drop_table('fission_reward')
    with op.batch_alter_table('referral_edge', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_edge_task_referrer')
        batch_op.drop_index('ix_referral_edge_referrer_status')
        batch_op.drop_index(batch_op.f('ix_referral_edge_referrer_staff_id'))
        batch_op.drop_index(batch_op.f('ix_referral_edge_referrer_partner_id'))
        batch_op.drop_index('ix_referral_edge_referee_status')
        batch_op.drop_index(batch_op.f('ix_referral_edge_counted_for_id'))
        batch_op.drop_index(batch_op.f('ix_referral_edge_code_id'))
        batch_op.drop_index(batch_op.f('ix_referral_edge_clicked_at'))

    op.drop_table('referral_edge')
    op.drop_table('fission_watched_order')
    with op.batch_alter_table('fission_task_participant', schema=None) as batch_op:
        batch_op.drop_index('ix_fission_task_participant_customer_task')

    op.drop_table('fission_task_participant')
    with op.batch_alter_table('referral_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_code_task_id'))
        batch_op.drop_index(batch_op.f('ix_referral_code_store_id'))
        batch_op.drop_index(batch_op.f('ix_referral_code_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_referral_code_partner_id'))
        batch_op.drop_index(batch_op.f('ix_referral_code_customer_id'))

    op.drop_table('referral_code')
    with op.batch_alter_table('partner_referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_referral_customer_id'))

    op.drop_table('partner_referral')
    with op.batch_alter_table('partner_offer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_offer_partner_id'))

    op.drop_table('partner_offer')
    op.drop_table('fission_task')
    op.drop_table('partner')
    op.drop_table('fission_cursor')
