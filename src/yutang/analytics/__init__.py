"""Analytics: read-only numbers about customers (CLV models, the standalone CLV tool).

Nothing here writes operational data; this package imports ``kit`` and lower domains only.
"""
