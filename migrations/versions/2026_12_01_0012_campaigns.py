"""Campaigns: segments, content library, campaigns, their runs and deliveries

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaign_content',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', BIG_ID, nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_content'))
    )
    op.create_index(op.f('ix_campaign_content_category'), 'campaign_content', ['category'], unique=False)
    op.create_table('campaign_segment',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('last_count', BIG_ID, nullable=True),
    sa.Column('last_counted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_segment')),
    sa.UniqueConstraint('name', name=op.f('uq_campaign_segment_name'))
    )
    op.create_table('campaign',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('audience_kind', sa.String(length=16), nullable=False),
    sa.Column('segment_id', BIG_ID, nullable=True),
    sa.Column('group_ids', sa.JSON(), nullable=False),
    sa.Column('content_id', BIG_ID, nullable=False),
    sa.Column('coupon_template_id', BIG_ID, nullable=True),
    sa.Column('schedule_kind', sa.String(length=16), nullable=False),
    sa.Column('send_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('weekday', BIG_ID, nullable=True),
    sa.Column('time_of_day', sa.String(length=5), nullable=False),
    sa.Column('trigger_kind', sa.String(length=24), nullable=True),
    sa.Column('trigger_days', BIG_ID, nullable=False),
    sa.Column('holdout_basis_points', BIG_ID, nullable=False),
    sa.Column('customer_cap_per_week', BIG_ID, nullable=False),
    sa.Column('group_cap_per_week', BIG_ID, nullable=False),
    sa.Column('quiet_hours_policy', sa.String(length=16), nullable=False),
    sa.Column('max_risk_level', sa.String(length=16), nullable=False),
    sa.Column('attribution_days', BIG_ID, nullable=False),
    sa.Column('staff_seconds_per_delivery', BIG_ID, nullable=False),
    sa.Column('staff_cost_fen_per_hour', BIG_ID, nullable=False),
    sa.Column('sender_userid', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['content_id'], ['campaign_content.id'], name=op.f('fk_campaign_content_id_campaign_content')),
    sa.ForeignKeyConstraint(['coupon_template_id'], ['coupon_template.id'], name=op.f('fk_campaign_coupon_template_id_coupon_template')),
    sa.ForeignKeyConstraint(['segment_id'], ['campaign_segment.id'], name=op.f('fk_campaign_segment_id_campaign_segment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign'))
    )
    op.create_table('campaign_run',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('campaign_id', BIG_ID, nullable=False),
    sa.Column('occurrence', sa.String(length=40), nullable=False),
    sa.Column('planned_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_run_campaign_id_campaign')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_run')),
    sa.UniqueConstraint('campaign_id', 'occurrence', name=op.f('uq_campaign_run_campaign_id_occurrence'))
    )
    op.create_table('campaign_delivery',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('campaign_id', BIG_ID, nullable=False),
    sa.Column('run_id', BIG_ID, nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=True),
    sa.Column('group_id', BIG_ID, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', BIG_ID, nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('message_ref', sa.String(length=64), nullable=True),
    sa.Column('coupon_code', sa.String(length=32), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    # no foreign keys: planning writes up to millions of rows at once (see models.Delivery)
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_delivery'))
    )
    op.create_index('ix_campaign_delivery_campaign_run', 'campaign_delivery', ['campaign_id', 'run_id'], unique=False)
    op.create_index('ix_campaign_delivery_customer_campaign', 'campaign_delivery', ['customer_id', 'campaign_id'], unique=False)
    op.create_index('ix_campaign_delivery_status_not_before', 'campaign_delivery', ['status', 'not_before'], unique=False)
    # The pool's consent: the newest decision per customer and channel becomes one probe of
    # one index, read from the index alone (segments and planning read it per customer). It
    # replaces (customer_id, channel), of which it is an extension.
    op.create_index('ix_consent_customer_channel_newest', 'consent', ['customer_id', 'channel', 'recorded_at', 'id', 'granted'], unique=False)
    op.drop_index('ix_consent_customer_channel', table_name='consent')


def downgrade() -> None:
    op.create_index('ix_consent_customer_channel', 'consent', ['customer_id', 'channel'], unique=False)
    op.drop_index('ix_consent_customer_channel_newest', table_name='consent')
    op.drop_index('ix_campaign_delivery_status_not_before', table_name='campaign_delivery')
    op.drop_index('ix_campaign_delivery_customer_campaign', table_name='campaign_delivery')
    op.drop_index('ix_campaign_delivery_campaign_run', table_name='campaign_delivery')
    op.drop_table('campaign_delivery')
    op.drop_table('campaign_run')
    op.drop_table('campaign')
    op.drop_table('campaign_segment')
    op.drop_index(op.f('ix_campaign_content_category'), table_name='campaign_content')
    op.drop_table('campaign_content')
