"""Follow-ups (回访): rules that create tasks for store staff, and the tasks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('follow_up_rule',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('content_id', BIG_ID, nullable=False),
    sa.Column('days', BIG_ID, nullable=False),
    sa.Column('due_days', BIG_ID, nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['content_id'], ['campaign_content.id'], name=op.f('fk_follow_up_rule_content_id_campaign_content')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_rule'))
    )
    op.create_table('follow_up_task',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('rule_id', BIG_ID, nullable=False),
    sa.Column('occurrence', sa.String(length=64), nullable=False),
    sa.Column('customer_id', BIG_ID, nullable=False),
    sa.Column('store_id', BIG_ID, nullable=True),
    sa.Column('assignee_id', BIG_ID, nullable=True),
    sa.Column('previous_task_id', BIG_ID, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('next_contact_on', sa.Date(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_follow_up_task_assignee_id_app_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_follow_up_task_customer_id_customer')),
    sa.ForeignKeyConstraint(['previous_task_id'], ['follow_up_task.id'], name=op.f('fk_follow_up_task_previous_task_id_follow_up_task')),
    sa.ForeignKeyConstraint(['rule_id'], ['follow_up_rule.id'], name=op.f('fk_follow_up_task_rule_id_follow_up_rule')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_follow_up_task_store_id_store')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_task')),
    sa.UniqueConstraint('rule_id', 'occurrence', name=op.f('uq_follow_up_task_rule_id_occurrence'))
    )
    op.create_index('ix_follow_up_task_assignee_status_due', 'follow_up_task', ['assignee_id', 'status', 'due_at'], unique=False)
    op.create_index('ix_follow_up_task_store_status_due', 'follow_up_task', ['store_id', 'status', 'due_at'], unique=False)
    op.create_index(op.f('ix_follow_up_task_customer_id'), 'follow_up_task', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_follow_up_task_customer_id'), table_name='follow_up_task')
    op.drop_index('ix_follow_up_task_store_status_due', table_name='follow_up_task')
    op.drop_index('ix_follow_up_task_assignee_status_due', table_name='follow_up_task')
    op.drop_table('follow_up_task')
    op.drop_table('follow_up_rule')
