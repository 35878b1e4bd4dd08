"""Fission: referrals, fission tasks, group-buy, bargains and partners."""
