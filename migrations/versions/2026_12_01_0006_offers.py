"""Offers: coupon templates and coupons (claims counted per customer, a timeline per coupon,
welcome grants), the double-entry ledger behind stored value and points (accounts,
transactions, entries; points lots), top-up plans, membership tiers and tier history, and the
idempotency records of every offers write

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('coupon_template',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('threshold_fen', BIG_ID, nullable=False),
    sa.Column('discount_fen', BIG_ID, nullable=False),
    sa.Column('rate_bp', BIG_ID, nullable=True),
    sa.Column('cap_fen', BIG_ID, nullable=True),
    sa.Column('gift_sku', sa.String(length=64), nullable=True),
    sa.Column('add_on_sku', sa.String(length=64), nullable=True),
    sa.Column('add_on_price_fen', BIG_ID, nullable=True),
    sa.Column('bundle_skus', sa.JSON(), nullable=False),
    sa.Column('bundle_price_fen', BIG_ID, nullable=True),
    sa.Column('stock', BIG_ID, nullable=True),
    sa.Column('issued', BIG_ID, nullable=False),
    sa.Column('per_customer_limit', BIG_ID, nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_days', BIG_ID, nullable=True),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('stacking', sa.String(length=16), nullable=False),
    sa.Column('welcome_trigger', sa.String(length=16), nullable=True),
    sa.Column('welcome_code', sa.String(length=30), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('issued >= 0', name=op.f('ck_coupon_template_issued_not_negative')),
    sa.CheckConstraint('stock IS NULL OR issued <= stock', name=op.f('ck_coupon_template_issued_within_stock')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_template'))
    )
    op.create_table('membership_tier',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('rank', BIG_ID, nullable=False),
    sa.Column('min_spend_fen', BIG_ID, nullable=False),
    sa.Column('min_points', BIG_ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_tier')),
    sa.UniqueConstraint('code', name=op.f('uq_membership_tier_code')),
    sa.UniqueConstraint('rank', name=op.f('uq_membership_tier_rank'))
    )
    op.create_table('offers_idempotency',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('operation', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', BIG_ID, nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers_idempotency')),
    sa.UniqueConstraint('operation', 'key', name=op.f('uq_offers_idempotency_operation_key'))
    )
    with op.batch_alter_table('offers_idempotency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offers_idempotency_created_at'), ['created_at'], unique=False)

    op.create_table('top_up_plan',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('pay_fen', BIG_ID, nullable=False),
    sa.Column('bonus_fen', BIG_ID, nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_top_up_plan'))
    )
    op.create_table('coupon_claim_counter',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('template_id', BIG_ID, nullable=False),
    sa.Column('holder_key', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('claimed', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_coupon_claim_counter_customer_id_customer')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_template.id'], name=op.f('fk_coupon_claim_counter_template_id_coupon_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_claim_counter')),
    sa.UniqueConstraint('template_id', 'holder_key', name=op.f('uq_coupon_claim_counter_template_id_holder_key'))
    )
    with op.batch_alter_table('coupon_claim_counter', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_claim_counter_customer_template', ['customer_id', 'template_id'], unique=False)

    op.create_table('ledger_account',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('account_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=True),
    sa.Column('balance', BIG_ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('customer_id IS NULL OR balance >= 0', name=op.f('ck_ledger_account_customer_balance_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_ledger_account_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_account')),
    sa.UniqueConstraint('account_key', name=op.f('uq_ledger_account_account_key'))
    )
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_account_customer_id'), ['customer_id'], unique=False)

    op.create_table('tier_change',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_tier_id', BIG_ID, nullable=True),
    sa.Column('tier_id', BIG_ID, nullable=True),
    sa.Column('is_super_user', sa.Boolean(), nullable=False),
    sa.Column('spend_fen', BIG_ID, nullable=False),
    sa.Column('points', BIG_ID, nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_tier_change_customer_id_customer')),
    sa.ForeignKeyConstraint(['from_tier_id'], ['membership_tier.id'], name=op.f('fk_tier_change_from_tier_id_membership_tier')),
    sa.ForeignKeyConstraint(['tier_id'], ['membership_tier.id'], name=op.f('fk_tier_change_tier_id_membership_tier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_change'))
    )
    with op.batch_alter_table('tier_change', schema=None) as batch_op:
        batch_op.create_index('ix_tier_change_customer_at', ['customer_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tier_change_tier_id'), ['tier_id'], unique=False)

    op.create_table('coupon',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('template_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('order_id', BIG_ID, nullable=True),
    sa.Column('discount_fen', BIG_ID, nullable=False),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_coupon_customer_id_customer')),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_coupon_order_id_customer_order')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_template.id'], name=op.f('fk_coupon_template_id_coupon_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon')),
    sa.UniqueConstraint('code', name=op.f('uq_coupon_code'))
    )
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupon_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_coupon_status_valid_until', ['status', 'valid_until'], unique=False)
        batch_op.create_index('ix_coupon_template_customer', ['template_id', 'customer_id'], unique=False)

    op.create_table('ledger_transaction',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=True),
    sa.Column('order_id', BIG_ID, nullable=True),
    sa.Column('plan_id', BIG_ID, nullable=True),
    sa.Column('reference', sa.String(length=128), nullable=False),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_ledger_transaction_customer_id_customer')),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_ledger_transaction_order_id_customer_order')),
    sa.ForeignKeyConstraint(['plan_id'], ['top_up_plan.id'], name=op.f('fk_ledger_transaction_plan_id_top_up_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transaction'))
    )
    with op.batch_alter_table('ledger_transaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transaction_at'), ['at'], unique=False)
        batch_op.create_index('ix_ledger_transaction_customer_at', ['customer_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transaction_order_id'), ['order_id'], unique=False)

    op.create_table('coupon_event',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('coupon_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('order_id', BIG_ID, nullable=True),
    sa.Column('discount_fen', BIG_ID, nullable=False),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupon.id'], name=op.f('fk_coupon_event_coupon_id_coupon')),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], name=op.f('fk_coupon_event_order_id_customer_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_event'))
    )
    with op.batch_alter_table('coupon_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_event_coupon_id'), ['coupon_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupon_event_order_id'), ['order_id'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('transaction_id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('amount', BIG_ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_account.id'], name=op.f('fk_ledger_entry_account_id_ledger_account')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transaction.id'], name=op.f('fk_ledger_entry_transaction_id_ledger_transaction')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_account_at', ['account_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('points_lot',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('transaction_id', BIG_ID, nullable=False),
    sa.Column('earned', BIG_ID, nullable=False),
    sa.Column('remaining', BIG_ID, nullable=False),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('remaining >= 0 AND remaining <= earned', name=op.f('ck_points_lot_remaining_within_earned')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_points_lot_customer_id_customer')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transaction.id'], name=op.f('fk_points_lot_transaction_id_ledger_transaction')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lot'))
    )
    with op.batch_alter_table('points_lot', schema=None) as batch_op:
        batch_op.create_index('ix_points_lot_customer_expires', ['customer_id', 'expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_lot_transaction_id'), ['transaction_id'], unique=False)

    op.create_table('welcome_grant',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('grant_key', sa.String(length=120), nullable=False),
    sa.Column('template_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('trigger', sa.String(length=64), nullable=False),
    sa.Column('coupon_id', BIG_ID, nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupon.id'], name=op.f('fk_welcome_grant_coupon_id_coupon')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_welcome_grant_customer_id_customer')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_template.id'], name=op.f('fk_welcome_grant_template_id_coupon_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_welcome_grant')),
    sa.UniqueConstraint('grant_key', name=op.f('uq_welcome_grant_grant_key'))
    )
    with op.batch_alter_table('welcome_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_welcome_grant_customer_id'), ['customer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('welcome_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_welcome_grant_customer_id'))

    op.drop_table('welcome_grant')
    with op.batch_alter_table('points_lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_lot_transaction_id'))
        batch_op.drop_index('ix_points_lot_customer_expires')

    op.drop_table('points_lot')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entry_transaction_id'))
        batch_op.drop_index('ix_ledger_entry_account_at')

    op.drop_table('ledger_entry')
    with op.batch_alter_table('coupon_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupon_event_order_id'))
        batch_op.drop_index(batch_op.f('ix_coupon_event_coupon_id'))

    op.drop_table('coupon_event')
    with op.batch_alter_table('ledger_transaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_transaction_order_id'))
        batch_op.drop_index('ix_ledger_transaction_customer_at')
        batch_op.drop_index(batch_op.f('ix_ledger_transaction_at'))

    op.drop_table('ledger_transaction')
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_template_customer')
        batch_op.drop_index('ix_coupon_status_valid_until')
        batch_op.drop_index(batch_op.f('ix_coupon_order_id'))
        batch_op.drop_index(batch_op.f('ix_coupon_customer_id'))

    op.drop_table('coupon')
    with op.batch_alter_table('tier_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tier_change_tier_id'))
        batch_op.drop_index('ix_tier_change_customer_at')

    op.drop_table('tier_change')
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_account_customer_id'))

    op.drop_table('ledger_account')
    with op.batch_alter_table('coupon_claim_counter', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_claim_counter_customer_template')

    op.drop_table('coupon_claim_counter')
    op.drop_table('top_up_plan')
    with op.batch_alter_table('offers_idempotency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offers_idempotency_created_at'))

    op.drop_table('offers_idempotency')
    op.drop_table('membership_tier')
    op.drop_table('coupon_template')
