"""Offers: coupons of every kind, membership tiers, points and stored value on a ledger."""
