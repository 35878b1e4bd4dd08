"""Coupons indexed by (order_id, status) instead of order_id alone

A redemption reads the coupons already redeemed on its order; with order_id alone indexed,
statistics taken while few coupons were redeemed made PostgreSQL scan every redeemed coupon
through (status, valid_until) instead.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_coupon_order_id_status', 'coupon', ['order_id', 'status'])
    op.drop_index('ix_coupon_order_id', table_name='coupon')


def downgrade() -> None:
    op.create_index('ix_coupon_order_id', 'coupon', ['order_id'])
    op.drop_index('ix_coupon_order_id_status', table_name='coupon')
