"""PostgreSQL indexes only the deliveries on their way or sent by (status, not_before)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = 'ix_campaign_delivery_status_not_before'
ACTIVE = "status IN ('planned', 'claimed', 'sending', 'sent')"


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return  # SQLite keeps the whole index: its planner uses a partial one only when a
        # query repeats the index's predicate word for word
    op.drop_index(INDEX, table_name='campaign_delivery')
    op.create_index(INDEX, 'campaign_delivery', ['status', 'not_before'],
                    postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index(INDEX, table_name='campaign_delivery')
    op.create_index(INDEX, 'campaign_delivery', ['status', 'not_before'])
