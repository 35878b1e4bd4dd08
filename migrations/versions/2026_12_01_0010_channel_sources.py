"""Channel sources: Official Account, signed webhooks, platform order files

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('official_account',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('app_id', sa.String(length=32), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('encoding_aes_key', sa.LargeBinary(), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_official_account')),
    sa.UniqueConstraint('app_id', name=op.f('uq_official_account_app_id'))
    )
    op.create_table('official_account_callback',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('app_id', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('request_key', sa.String(length=40), nullable=False),
    sa.Column('message_key', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('encrypted', sa.Boolean(), nullable=False),
    sa.Column('msg_type', sa.String(length=32), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('scene', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('pool_events', BIG_ID, nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_official_account_callback')),
    sa.UniqueConstraint('message_key', name=op.f('uq_official_account_callback_message_key')),
    sa.UniqueConstraint('request_key', name=op.f('uq_official_account_callback_request_key'))
    )
    with op.batch_alter_table('official_account_callback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_official_account_callback_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_official_account_callback_received_at'), ['received_at'], unique=False)

    op.create_table('webhook_source',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_source')),
    sa.UniqueConstraint('name', name=op.f('uq_webhook_source_name'))
    )
    op.create_table('webhook_delivery',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('source_id', BIG_ID, nullable=False),
    sa.Column('signature_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('records', BIG_ID, nullable=False),
    sa.Column('accepted', BIG_ID, nullable=False),
    sa.Column('updated', BIG_ID, nullable=False),
    sa.Column('duplicates', BIG_ID, nullable=False),
    sa.Column('rejected', BIG_ID, nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['webhook_source.id'], name=op.f('fk_webhook_delivery_source_id_webhook_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('signature_key', name=op.f('uq_webhook_delivery_signature_key'))
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_delivery_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_delivery_source_id'), ['source_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_source_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_delivery_received_at'))
    op.drop_table('webhook_delivery')
    op.drop_table('webhook_source')
    with op.batch_alter_table('official_account_callback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_official_account_callback_received_at'))
        batch_op.drop_index(batch_op.f('ix_official_account_callback_app_id'))
    op.drop_table('official_account_callback')
    op.drop_table('official_account')
