"""Groups: groups, members, group codes and health

Customer groups of a store with an owner and a capacity, their members (and a timeline of
joins and leaves), group codes (群活码) and each customer's scans of them, red-packet probes and
their claims, daily activity per member, the dead-group rule, and the receipts and cursor of
the pool events applied to groups.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ROUTABLE_GROUP = "status = 'active' AND member_count < capacity"

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('group_event_receipt',
    sa.Column('event_id', BIG_ID, autoincrement=False, nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_group_event_receipt'))
    )
    op.create_table('group_rule',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('probe_claim_minutes', BIG_ID, nullable=False),
    sa.Column('min_active_share_percent', BIG_ID, nullable=False),
    sa.Column('window_weeks', BIG_ID, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_rule'))
    )
    op.create_table('group_sync_cursor',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_event_id', BIG_ID, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_group_sync_cursor'))
    )
    op.create_table('group_code',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('store_id', BIG_ID, nullable=False),
    sa.Column('owner_user_id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('campaign', sa.String(length=64), nullable=True),
    sa.Column('name_pattern', sa.String(length=100), nullable=False),
    sa.Column('auto_open', sa.Boolean(), nullable=False),
    sa.Column('capacity', BIG_ID, nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('opened_groups', BIG_ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.CheckConstraint('opened_groups >= 0', name=op.f('ck_group_code_opened_not_negative')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['app_user.id'], name=op.f('fk_group_code_owner_user_id_app_user')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_group_code_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_code'))
    )
    with op.batch_alter_table('group_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_code_store_id'), ['store_id'], unique=False)

    op.create_table('customer_group',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('store_id', BIG_ID, nullable=False),
    sa.Column('owner_user_id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('capacity', BIG_ID, nullable=False),
    sa.Column('member_count', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('code_id', BIG_ID, nullable=True),
    sa.Column('sequence', BIG_ID, nullable=True),
    sa.Column('wecom_chat_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('health_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dead_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dead_reason', sa.String(length=32), nullable=True),
    sa.Column('revived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revival_content', sa.String(length=200), nullable=True),
    sa.Column('merged_into_id', BIG_ID, nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_customer_group_capacity_positive')),
    sa.CheckConstraint('member_count >= 0', name=op.f('ck_customer_group_member_count_not_negative')),
    sa.ForeignKeyConstraint(['code_id'], ['group_code.id'], name=op.f('fk_customer_group_code_id_group_code')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['customer_group.id'], name=op.f('fk_customer_group_merged_into_id_customer_group')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['app_user.id'], name=op.f('fk_customer_group_owner_user_id_app_user')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_customer_group_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_group')),
    sa.UniqueConstraint('wecom_chat_id', name=op.f('uq_customer_group_wecom_chat_id'))
    )
    with op.batch_alter_table('customer_group', schema=None) as batch_op:
        batch_op.create_index('ix_customer_group_code_id', ['code_id'], unique=False)
        batch_op.create_index('ix_customer_group_code_routing', ['code_id', 'member_count', 'id'], unique=False, postgresql_where=sa.text(ROUTABLE_GROUP), sqlite_where=sa.text(ROUTABLE_GROUP))
        batch_op.create_index(batch_op.f('ix_customer_group_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index('ix_customer_group_store_status', ['store_id', 'status'], unique=False)

    op.create_table('group_activity',
    sa.Column('group_id', BIG_ID, nullable=False),
    sa.Column('customer_key', BIG_ID, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('messages', BIG_ID, nullable=False),
    sa.Column('claims', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['customer_group.id'], name=op.f('fk_group_activity_group_id_customer_group')),
    sa.PrimaryKeyConstraint('group_id', 'customer_key', 'day', name=op.f('pk_group_activity'))
    )
    with op.batch_alter_table('group_activity', schema=None) as batch_op:
        batch_op.create_index('ix_group_activity_group_day', ['group_id', 'day'], unique=False)

    op.create_table('group_code_scan',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('code_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('customer_key', BIG_ID, nullable=False),
    sa.Column('group_id', BIG_ID, nullable=True),
    sa.Column('scans', BIG_ID, nullable=False),
    sa.Column('first_scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['code_id'], ['group_code.id'], name=op.f('fk_group_code_scan_code_id_group_code')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_group_code_scan_customer_id_customer')),
    sa.ForeignKeyConstraint(['group_id'], ['customer_group.id'], name=op.f('fk_group_code_scan_group_id_customer_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_code_scan')),
    sa.UniqueConstraint('code_id', 'customer_key', name=op.f('uq_group_code_scan_code_id_customer_key'))
    )
    with op.batch_alter_table('group_code_scan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_code_scan_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_code_scan_group_id'), ['group_id'], unique=False)

    op.create_table('group_member',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('group_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('customer_key', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_group_member_customer_id_customer')),
    sa.ForeignKeyConstraint(['group_id'], ['customer_group.id'], name=op.f('fk_group_member_group_id_customer_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_member')),
    sa.UniqueConstraint('group_id', 'customer_key', name=op.f('uq_group_member_group_id_customer_key'))
    )
    with op.batch_alter_table('group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_member_customer_id'), ['customer_id'], unique=False)

    op.create_table('group_member_change',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('group_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('event_id', BIG_ID, nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_group_member_change_customer_id_customer')),
    sa.ForeignKeyConstraint(['group_id'], ['customer_group.id'], name=op.f('fk_group_member_change_group_id_customer_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_member_change'))
    )
    with op.batch_alter_table('group_member_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_member_change_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_group_member_change_group_at', ['group_id', 'at'], unique=False)

    op.create_table('group_probe',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('group_id', BIG_ID, nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('packets', BIG_ID, nullable=False),
    sa.Column('amount_fen', BIG_ID, nullable=False),
    sa.Column('claimed', BIG_ID, nullable=False),
    sa.Column('last_claim_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('claimed >= 0 AND claimed <= packets', name=op.f('ck_group_probe_claimed_within_packets')),
    sa.CheckConstraint('packets > 0', name=op.f('ck_group_probe_packets_positive')),
    sa.ForeignKeyConstraint(['group_id'], ['customer_group.id'], name=op.f('fk_group_probe_group_id_customer_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_probe'))
    )
    with op.batch_alter_table('group_probe', schema=None) as batch_op:
        batch_op.create_index('ix_group_probe_group_sent', ['group_id', 'sent_at'], unique=False)

    op.create_table('group_probe_claim',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('probe_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=True),
    sa.Column('claimer_key', sa.String(length=64), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_id', BIG_ID, nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_group_probe_claim_customer_id_customer')),
    sa.ForeignKeyConstraint(['probe_id'], ['group_probe.id'], name=op.f('fk_group_probe_claim_probe_id_group_probe')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_probe_claim')),
    sa.UniqueConstraint('probe_id', 'claimer_key', name=op.f('uq_group_probe_claim_probe_id_claimer_key'))
    )
    with op.batch_alter_table('group_probe_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_probe_claim_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('group_probe_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_probe_claim_customer_id'))

    op.drop_table('group_probe_claim')
    with op.batch_alter_table('group_probe', schema=None) as batch_op:
        batch_op.drop_index('ix_group_probe_group_sent')

    op.drop_table('group_probe')
    with op.batch_alter_table('group_member_change', schema=None) as batch_op:
        batch_op.drop_index('ix_group_member_change_group_at')
        batch_op.drop_index(batch_op.f('ix_group_member_change_customer_id'))

    op.drop_table('group_member_change')
    with op.batch_alter_table('group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_member_customer_id'))

    op.drop_table('group_member')
    with op.batch_alter_table('group_code_scan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_code_scan_group_id'))
        batch_op.drop_index(batch_op.f('ix_group_code_scan_customer_id'))

    op.drop_table('group_code_scan')
    with op.batch_alter_table('group_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_group_activity_group_day')

    op.drop_table('group_activity')
    with op.batch_alter_table('customer_group', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_group_store_status')
        batch_op.drop_index(batch_op.f('ix_customer_group_owner_user_id'))
        batch_op.drop_index('ix_customer_group_code_routing')
        batch_op.drop_index('ix_customer_group_code_id')

    op.drop_table('customer_group')
    with op.batch_alter_table('group_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_code_store_id'))

    op.drop_table('group_code')
    op.drop_table('group_sync_cursor')
    op.drop_table('group_rule')
    op.drop_table('group_event_receipt')
