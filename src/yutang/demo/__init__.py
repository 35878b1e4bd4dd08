"""The demo merchant: a deterministic Chinese retail chain with planted truth."""
