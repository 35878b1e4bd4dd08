"""Behaviour on the engine: the funnel, sales with their credit, capture, and cohorts.

Periods are local days ``[start_day, end_day)``. Revenue is the paid amount of orders paid
in the period and not refunded before its end.
"""

from __future__ import annotations

from yutang.analytics.metric import Metric

FUNNEL_STEPS = ("view", "add_to_cart", "checkout", "paid", "completed")

_FUNNEL_ENTRY = """
SELECT customer_id, at_s, channel_id, store_id FROM (
    SELECT customer_id, occurred_s AS at_s, channel_id, store_id,
           ROW_NUMBER() OVER (PARTITION BY customer_id
                              ORDER BY occurred_s, channel_id, store_id) AS visit_rank
    FROM events
    WHERE type = 'view' AND customer_id IS NOT NULL
      AND occurred_day >= :start_day AND occurred_day < :end_day
) AS visits WHERE visit_rank = 1"""

_FUNNEL_STEPS = """
WITH candidates AS (
    SELECT customer_id, at_s AS entry_s FROM funnel_entry
),
steps AS (
    SELECT customer_id, 'add_to_cart' AS step, occurred_s AS at_s
    FROM events WHERE type = 'add_to_cart'
    UNION ALL
    SELECT customer_id, 'checkout', occurred_s FROM events WHERE type = 'checkout'
    UNION ALL
    SELECT customer_id, 'checkout', ordered_s FROM orders
    UNION ALL
    SELECT customer_id, 'paid', paid_s FROM orders WHERE paid_s IS NOT NULL
    UNION ALL
    SELECT customer_id, 'completed', completed_s FROM orders WHERE completed_s IS NOT NULL
)
SELECT s.customer_id, s.step, s.at_s
FROM steps AS s JOIN candidates AS c ON c.customer_id = s.customer_id
WHERE s.at_s >= c.entry_s AND s.at_s <= c.entry_s + :window_s"""


def _next_step(name: str, step: str, previous: str) -> str:
    return f"""
{name} AS (
    SELECT p.customer_id, MIN(s.at_s) AS at_s
    FROM {previous} AS p
    JOIN funnel_steps AS s ON s.customer_id = p.customer_id AND s.step = '{step}'
     AND s.at_s >= p.at_s
    GROUP BY p.customer_id
)"""


FUNNEL = Metric(
    name="funnel",
    keys=("dimension", "key_id"),
    parameters=("start_day", "end_day", "window_s"),
    stages=(("funnel_entry", _FUNNEL_ENTRY), ("funnel_steps", _FUNNEL_STEPS)),
    sql=f"""
WITH {_next_step("cart", "add_to_cart", "funnel_entry")},
{_next_step("checkout", "checkout", "cart")},
{_next_step("paid", "paid", "checkout")},
{_next_step("completed", "completed", "paid")},
reached AS (
    SELECT e.customer_id, e.channel_id, e.store_id,
           CASE WHEN cart.customer_id IS NULL THEN 0 ELSE 1 END AS carted,
           CASE WHEN checkout.customer_id IS NULL THEN 0 ELSE 1 END AS checked_out,
           CASE WHEN paid.customer_id IS NULL THEN 0 ELSE 1 END AS paid,
           CASE WHEN completed.customer_id IS NULL THEN 0 ELSE 1 END AS completed
    FROM funnel_entry AS e
    LEFT JOIN cart ON cart.customer_id = e.customer_id
    LEFT JOIN checkout ON checkout.customer_id = e.customer_id
    LEFT JOIN paid ON paid.customer_id = e.customer_id
    LEFT JOIN completed ON completed.customer_id = e.customer_id
),
counted AS (
    SELECT CASE WHEN GROUPING(channel_id) = 0 THEN 'channel'
                WHEN GROUPING(store_id) = 0 THEN 'store' ELSE 'all' END AS dimension,
           CASE WHEN GROUPING(channel_id) = 0 THEN channel_id ELSE store_id END AS key_id,
           COUNT(*) AS viewed, SUM(carted) AS carted, SUM(checked_out) AS checked_out,
           SUM(paid) AS paid, SUM(completed) AS completed
    FROM reached GROUP BY GROUPING SETS ((), (channel_id), (store_id))
)
SELECT c.dimension, c.key_id,
       CASE WHEN c.dimension = 'store' THEN s.code WHEN c.dimension = 'channel' THEN ch.code
            ELSE NULL END AS key_code,
       c.viewed, CAST(c.carted AS BIGINT) AS carted,
       CAST(c.checked_out AS BIGINT) AS checked_out, CAST(c.paid AS BIGINT) AS paid,
       CAST(c.completed AS BIGINT) AS completed
FROM counted AS c
LEFT JOIN stores AS s ON c.dimension = 'store' AND s.id = c.key_id
LEFT JOIN channels AS ch ON c.dimension = 'channel' AND ch.id = c.key_id
""",
)

_PAID_IN_PERIOD = """
paid AS (
    SELECT o.id, o.customer_id, o.store_id AS order_store_id, o.channel_id, o.paid_fen,
           o.paid_day, c.store_id AS owner_store_id, c.acquisition_staff_id AS owner_staff_id
    FROM orders AS o LEFT JOIN live_customers AS c ON c.id = o.customer_id
    WHERE o.paid_day IS NOT NULL AND o.paid_day >= :start_day AND o.paid_day < :end_day
      AND (o.refunded_day IS NULL OR o.refunded_day >= :end_day)
      AND (:store_id IS NULL OR o.store_id = :store_id OR c.store_id = :store_id)
)"""

SALES_SUMMARY = Metric(
    name="sales_summary",
    keys=(),
    parameters=("start_day", "end_day", "store_id"),
    sql=f"""
WITH {_PAID_IN_PERIOD},
per_customer AS (
    SELECT customer_id, COUNT(*) AS orders FROM paid
    WHERE customer_id IS NOT NULL GROUP BY customer_id
),
earlier AS (
    SELECT DISTINCT o.customer_id FROM orders AS o
    JOIN per_customer AS p ON p.customer_id = o.customer_id
    WHERE o.paid_day IS NOT NULL AND o.paid_day < :start_day
),
pool AS (
    SELECT
        SUM(CASE WHEN acquired_day >= :start_day AND acquired_day < :end_day
                 THEN 1 ELSE 0 END) AS new_customers,
        SUM(CASE WHEN acquired_day < :end_day THEN 1 ELSE 0 END) AS pool_customers
    FROM live_customers WHERE :store_id IS NULL OR store_id = :store_id
)
SELECT
    CAST((SELECT COALESCE(SUM(paid_fen), 0) FROM paid) AS BIGINT) AS gmv_fen,
    (SELECT COUNT(*) FROM paid) AS paid_orders,
    (SELECT COUNT(*) FROM per_customer) AS buyers,
    (SELECT COUNT(*) FROM per_customer WHERE orders >= 2) AS repeat_buyers,
    (SELECT COUNT(*) FROM earlier) AS returning_buyers,
    CAST(COALESCE(pool.new_customers, 0) AS BIGINT) AS new_customers,
    CAST(COALESCE(pool.pool_customers, 0) AS BIGINT) AS pool_customers,
    CAST((SELECT COALESCE(SUM(paid_fen), 0) FROM paid) AS DOUBLE)
        / NULLIF((SELECT COUNT(*) FROM paid), 0) AS aov_fen,
    CAST((SELECT COUNT(*) FROM per_customer WHERE orders >= 2) AS DOUBLE)
        / NULLIF((SELECT COUNT(*) FROM per_customer), 0) AS repurchase_rate,
    CAST((SELECT COUNT(*) FROM paid WHERE customer_id IS NOT NULL) AS DOUBLE)
        / NULLIF((SELECT COUNT(*) FROM per_customer), 0) AS order_frequency
FROM pool
""",
)

SALES_CREDIT = Metric(
    name="sales_credit",
    keys=("dimension", "key_id"),
    parameters=("start_day", "end_day", "store_id"),
    sql=f"""
WITH {_PAID_IN_PERIOD},
credited AS (
    SELECT 'owner_store' AS dimension, owner_store_id AS key_id,
           CAST(SUM(paid_fen) AS BIGINT) AS gmv_fen, COUNT(*) AS paid_orders,
           COUNT(DISTINCT customer_id) AS buyers
    FROM paid GROUP BY owner_store_id
    UNION ALL
    SELECT 'owner_staff', owner_staff_id, CAST(SUM(paid_fen) AS BIGINT), COUNT(*),
           COUNT(DISTINCT customer_id)
    FROM paid GROUP BY owner_staff_id
    UNION ALL
    SELECT 'order_store', order_store_id, CAST(SUM(paid_fen) AS BIGINT), COUNT(*),
           COUNT(DISTINCT customer_id)
    FROM paid GROUP BY order_store_id
    UNION ALL
    SELECT 'order_channel', channel_id, CAST(SUM(paid_fen) AS BIGINT), COUNT(*),
           COUNT(DISTINCT customer_id)
    FROM paid GROUP BY channel_id
)
SELECT c.dimension, c.key_id,
       CASE WHEN c.dimension IN ('owner_store', 'order_store') THEN s.code
            WHEN c.dimension = 'owner_staff' THEN u.username
            WHEN c.dimension = 'order_channel' THEN ch.code ELSE NULL END AS key_code,
       c.gmv_fen, c.paid_orders, c.buyers,
       CAST(c.gmv_fen AS DOUBLE) / NULLIF(c.paid_orders, 0) AS aov_fen
FROM credited AS c
LEFT JOIN stores AS s ON c.dimension IN ('owner_store', 'order_store') AND s.id = c.key_id
LEFT JOIN staff AS u ON c.dimension = 'owner_staff' AND u.id = c.key_id
LEFT JOIN channels AS ch ON c.dimension = 'order_channel' AND ch.id = c.key_id
""",
)

NEW_CUSTOMERS_BY_CHANNEL = Metric(
    name="new_customers_by_channel",
    keys=("channel_id",),
    parameters=("start_day", "end_day", "store_id"),
    sql="""
SELECT c.acquisition_channel_id AS channel_id, ch.code AS channel_code,
       ch.domain AS channel_domain, COUNT(*) AS new_customers
FROM live_customers AS c LEFT JOIN channels AS ch ON ch.id = c.acquisition_channel_id
WHERE c.acquired_day >= :start_day AND c.acquired_day < :end_day
  AND (:store_id IS NULL OR c.store_id = :store_id)
GROUP BY c.acquisition_channel_id, ch.code, ch.domain
""",
)

CAPTURE = Metric(
    name="capture",
    keys=("store_id",),
    parameters=("start_day", "end_day"),
    sql="""
WITH joined AS (
    SELECT store_id, COUNT(*) AS new_members FROM live_customers
    WHERE store_id IS NOT NULL AND acquired_day >= :start_day AND acquired_day < :end_day
    GROUP BY store_id
),
store_orders AS (
    SELECT store_id, COUNT(*) AS orders FROM orders
    WHERE store_id IS NOT NULL AND ordered_day >= :start_day AND ordered_day < :end_day
    GROUP BY store_id
),
visits AS (
    SELECT store_id, COUNT(*) AS visits FROM events
    WHERE store_id IS NOT NULL AND type = 'store_visit'
      AND occurred_day >= :start_day AND occurred_day < :end_day
    GROUP BY store_id
)
SELECT s.id AS store_id, s.code AS store_code, COALESCE(j.new_members, 0) AS new_members,
       COALESCE(o.orders, 0) AS store_orders, COALESCE(v.visits, 0) AS store_visits,
       CAST(COALESCE(j.new_members, 0) AS DOUBLE)
           / NULLIF(COALESCE(o.orders, 0) + COALESCE(v.visits, 0), 0) AS capture_rate
FROM stores AS s
LEFT JOIN joined AS j ON j.store_id = s.id
LEFT JOIN store_orders AS o ON o.store_id = s.id
LEFT JOIN visits AS v ON v.store_id = s.id
""",
)

COHORTS = Metric(
    name="cohorts",
    keys=("acquired_month", "month_offset"),
    parameters=("as_of_day",),
    sql="""
WITH cohort AS (
    SELECT id AS customer_id, acquired_month FROM live_customers WHERE acquired_day < :as_of_day
),
sizes AS (SELECT acquired_month, COUNT(*) AS customers FROM cohort GROUP BY acquired_month),
activity AS (
    SELECT c.acquired_month,
           CAST((YEAR(o.paid_month) * 12 + MONTH(o.paid_month))
                - (YEAR(c.acquired_month) * 12 + MONTH(c.acquired_month)) AS BIGINT)
               AS month_offset,
           COUNT(DISTINCT o.customer_id) AS active_customers,
           CAST(SUM(o.paid_fen) AS BIGINT) AS revenue_fen
    FROM cohort AS c JOIN orders AS o ON o.customer_id = c.customer_id
    WHERE o.paid_day IS NOT NULL AND o.paid_day < :as_of_day
      AND (o.refunded_day IS NULL OR o.refunded_day >= :as_of_day)
    GROUP BY c.acquired_month,
             CAST((YEAR(o.paid_month) * 12 + MONTH(o.paid_month))
                  - (YEAR(c.acquired_month) * 12 + MONTH(c.acquired_month)) AS BIGINT)
)
SELECT a.acquired_month, a.month_offset, s.customers, a.active_customers,
       CAST(a.active_customers AS DOUBLE) / s.customers AS retention,
       a.revenue_fen,
       CAST(SUM(a.revenue_fen) OVER (PARTITION BY a.acquired_month ORDER BY a.month_offset
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            AS BIGINT) AS cumulative_revenue_fen,
       CAST(SUM(a.revenue_fen) OVER (PARTITION BY a.acquired_month ORDER BY a.month_offset
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
            AS DOUBLE) / s.customers AS cumulative_revenue_per_customer_fen
FROM activity AS a JOIN sizes AS s ON s.acquired_month = a.acquired_month
""",
)
