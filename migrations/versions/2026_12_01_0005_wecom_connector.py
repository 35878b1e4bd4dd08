"""WeCom connector: corp settings, callback log (the replay guard), relations, groups and
their members, contact and join ways, the outbox of side effects, mass-send tasks

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:06:45.510050
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('wecom_callback',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_key', sa.String(length=40), nullable=False),
    sa.Column('message_key', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('change_type', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('pool_events', BIG_ID, nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_callback')),
    sa.UniqueConstraint('message_key', name=op.f('uq_wecom_callback_message_key')),
    sa.UniqueConstraint('request_key', name=op.f('uq_wecom_callback_request_key'))
    )
    with op.batch_alter_table('wecom_callback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wecom_callback_corp_id'), ['corp_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wecom_callback_received_at'), ['received_at'], unique=False)

    op.create_table('wecom_corp',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.String(length=32), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('encoding_aes_key', sa.LargeBinary(), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.Column('welcome_text', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_corp')),
    sa.UniqueConstraint('corp_id', name=op.f('uq_wecom_corp_corp_id'))
    )
    op.create_table('wecom_group',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_userid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('member_version', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_group')),
    sa.UniqueConstraint('corp_id', 'chat_id', name=op.f('uq_wecom_group_corp_id_chat_id'))
    )
    op.create_table('wecom_message_task',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('task_key', sa.String(length=160), nullable=False),
    sa.Column('chat_type', sa.String(length=8), nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('targets', BIG_ID, nullable=False),
    sa.Column('failed', BIG_ID, nullable=False),
    sa.Column('msgid', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_message_task')),
    sa.UniqueConstraint('task_key', name=op.f('uq_wecom_message_task_task_key'))
    )
    op.create_table('wecom_outbox',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', BIG_ID, nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_outbox'))
    )
    with op.batch_alter_table('wecom_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_wecom_outbox_status_created', ['status', 'created_at'], unique=False)

    op.create_table('wecom_way',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('config_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('qr_code', sa.String(length=512), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_way')),
    sa.UniqueConstraint('corp_id', 'config_id', name=op.f('uq_wecom_way_corp_id_config_id'))
    )
    with op.batch_alter_table('wecom_way', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wecom_way_state'), ['state'], unique=False)

    op.create_table('wecom_group_member',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('group_id', BIG_ID, nullable=False),
    sa.Column('member_index', sa.String(length=32), nullable=False),
    sa.Column('member_userid', sa.LargeBinary(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('join_scene', BIG_ID, nullable=True),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('quit_scene', BIG_ID, nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['wecom_group.id'], name=op.f('fk_wecom_group_member_group_id_wecom_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_group_member')),
    sa.UniqueConstraint('group_id', 'member_index', name=op.f('uq_wecom_group_member_group_id_member_index'))
    )
    with op.batch_alter_table('wecom_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wecom_group_member_member_index'), ['member_index'], unique=False)

    op.create_table('wecom_contact',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('corp_id', sa.String(length=64), nullable=False),
    sa.Column('staff_userid', sa.String(length=64), nullable=False),
    sa.Column('staff_user_id', BIG_ID, nullable=True),
    sa.Column('external_userid_index', sa.String(length=32), nullable=False),
    sa.Column('external_userid', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('first_added_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lost_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lost_reason', sa.String(length=32), nullable=True),
    sa.Column('last_change', sa.String(length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_user_id'], ['app_user.id'], name=op.f('fk_wecom_contact_staff_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wecom_contact')),
    sa.UniqueConstraint('corp_id', 'staff_userid', 'external_userid_index', name=op.f('uq_wecom_contact_corp_id_staff_userid_external_userid_index'))
    )
    with op.batch_alter_table('wecom_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wecom_contact_external_userid_index'), ['external_userid_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_wecom_contact_staff_user_id'), ['staff_user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('wecom_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wecom_contact_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_wecom_contact_external_userid_index'))

    op.drop_table('wecom_contact')
    with op.batch_alter_table('wecom_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wecom_group_member_member_index'))

    op.drop_table('wecom_group_member')
    with op.batch_alter_table('wecom_way', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wecom_way_state'))

    op.drop_table('wecom_way')
    with op.batch_alter_table('wecom_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_wecom_outbox_status_created')

    op.drop_table('wecom_outbox')
    op.drop_table('wecom_message_task')
    op.drop_table('wecom_group')
    op.drop_table('wecom_corp')
    with op.batch_alter_table('wecom_callback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wecom_callback_received_at'))
        batch_op.drop_index(batch_op.f('ix_wecom_callback_corp_id'))

    op.drop_table('wecom_callback')
