"""The views every metric reads, over the raw Parquet tables (``raw_<table>``).

Versioned tables show their newest version; orders, events and touches carry the live
customer their customer record was merged into (``customer_roots``). Times are ``*_s``
(epoch seconds), ``*_day`` (local day number) and ``*_month`` (first day of the local month).
"""

from __future__ import annotations

RAW_TABLES = ("customers", "orders", "order_items", "events", "touches", "channels",
              "channel_spend", "stores", "staff", "customer_roots")


def _newest(table: str, columns: str, unique: frozenset[str]) -> str:
    """The newest version of each row; the rows themselves when no id has two versions."""
    if table in unique:
        return f"SELECT {columns} FROM raw_{table}"
    return f"""
        SELECT {columns} FROM (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY id ORDER BY _part DESC) AS version_rank
            FROM raw_{table}
        ) AS versions WHERE version_rank = 1"""


CUSTOMER_COLUMNS = ("id, store_id, acquisition_channel_id, acquisition_staff_id, "
                    "acquisition_code_id, gender, merged_into_id, acquired_s, acquired_day, "
                    "acquired_month")

ORDER_COLUMNS = ("id, source, customer_id, store_id, channel_id, status, total_fen, "
                 "discount_fen, paid_fen, ordered_s, ordered_day, ordered_month, paid_s, "
                 "paid_day, paid_month, completed_s, completed_day, refunded_s, refunded_day, "
                 "closed_s, closed_day")

def views(unique: frozenset[str] = frozenset()) -> tuple[tuple[str, str], ...]:
    """(name, SQL) of every view, in order; ``unique``: the versioned tables whose parts hold
    each id once (``TableState.unique_ids``)."""
    return (
        ("customers", _newest("customers", CUSTOMER_COLUMNS, unique)),
        ("live_customers", "SELECT * FROM customers WHERE merged_into_id IS NULL"),
        ("orders", f"""
            SELECT o.id, o.source, COALESCE(roots.root_id, o.customer_id) AS customer_id,
                   o.store_id, o.channel_id, o.status, o.total_fen, o.discount_fen, o.paid_fen,
                   o.ordered_s, o.ordered_day, o.ordered_month, o.paid_s, o.paid_day,
                   o.paid_month, o.completed_s, o.completed_day, o.refunded_s, o.refunded_day,
                   o.closed_s, o.closed_day
            FROM ({_newest("orders", ORDER_COLUMNS, unique)}) AS o
            LEFT JOIN raw_customer_roots AS roots ON roots.id = o.customer_id"""),
        ("order_items", "SELECT id, order_id, product_id, sku, quantity, unit_price_fen, "
                        "amount_fen FROM raw_order_items"),
        ("events", """
            SELECT e.id, e.type, COALESCE(roots.root_id, e.customer_id) AS customer_id,
                   e.store_id, e.channel_id, e.occurred_s, e.occurred_day
            FROM raw_events AS e LEFT JOIN raw_customer_roots AS roots ON roots.id = e.customer_id
        """),
        ("touches", """
            SELECT t.id, COALESCE(roots.root_id, t.customer_id) AS customer_id, t.kind,
                   t.channel_id, t.store_id, t.staff_user_id, t.code_id, t.touched_s,
                   t.touched_day
            FROM raw_touches AS t LEFT JOIN raw_customer_roots AS roots ON roots.id = t.customer_id
        """),
        ("channels", "SELECT id, code, name, kind, domain, store_id FROM raw_channels"),
        ("channel_spend", "SELECT channel_id, month, amount_fen FROM raw_channel_spend"),
        ("stores", "SELECT id, code, name, city, region_id FROM raw_stores"),
        ("staff", "SELECT id, username, display_name, role, store_id FROM raw_staff"),
    )
