"""Staff Moments (朋友圈): posting tasks for store staff and one post per staff member

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('moment_task',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('content_id', BIG_ID, nullable=True),
    sa.Column('content_version', BIG_ID, nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('all_stores', sa.Boolean(), nullable=False),
    sa.Column('store_ids', sa.JSON(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['content_id'], ['campaign_content.id'], name=op.f('fk_moment_task_content_id_campaign_content')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moment_task'))
    )
    op.create_index(op.f('ix_moment_task_due_at'), 'moment_task', ['due_at'], unique=False)
    op.create_table('moment_post',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('task_id', BIG_ID, nullable=False),
    sa.Column('staff_user_id', BIG_ID, nullable=False),
    sa.Column('store_id', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('friend_count', BIG_ID, nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('marked_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_user_id'], ['app_user.id'], name=op.f('fk_moment_post_staff_user_id_app_user')),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], name=op.f('fk_moment_post_store_id_store')),
    sa.ForeignKeyConstraint(['task_id'], ['moment_task.id'], name=op.f('fk_moment_post_task_id_moment_task')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moment_post')),
    sa.UniqueConstraint('task_id', 'staff_user_id', name=op.f('uq_moment_post_task_id_staff_user_id'))
    )
    op.create_index('ix_moment_post_staff_status', 'moment_post', ['staff_user_id', 'status'], unique=False)
    op.create_index('ix_moment_post_store_task', 'moment_post', ['store_id', 'task_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_moment_post_store_task', table_name='moment_post')
    op.drop_index('ix_moment_post_staff_status', table_name='moment_post')
    op.drop_table('moment_post')
    op.drop_index(op.f('ix_moment_task_due_at'), table_name='moment_task')
    op.drop_table('moment_task')
