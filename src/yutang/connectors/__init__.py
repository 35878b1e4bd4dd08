"""Connectors: the outside systems yutang speaks to in their own wire formats (WeCom first)."""
