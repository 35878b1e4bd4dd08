"""Layering on the engine: RFM scores, value tiers and lifecycle stages per live customer.

A purchase is an order paid before the as-of day and not refunded before it. Scores 1-5:
by quintile of rank among the customers who bought (``quantile`` = 1; ties share the lower
score), or by the thresholds (``quantile`` = 0). Customers who never bought have no scores
and the tier ``prospect``. Lifecycle, in this order: ``new`` (acquired within ``new_days``),
``won_back`` (bought within ``active_days`` after a gap of more than ``lost_days``),
``active`` (bought within ``active_days``), ``at_risk`` (within ``lost_days``), else
``lost``.
"""

from __future__ import annotations

from yutang.analytics.metric import Metric

LAYER_PARAMETERS = (
    "as_of_day", "quantile", "recency_5", "recency_4", "recency_3", "recency_2",
    "frequency_5", "frequency_4", "frequency_3", "frequency_2", "monetary_5", "monetary_4",
    "monetary_3", "monetary_2", "tier_vip", "tier_high", "tier_medium", "new_days",
    "active_days", "lost_days",
)

VALUE_TIERS = ("vip", "high", "medium", "low", "prospect")
LIFECYCLE_STAGES = ("new", "active", "won_back", "at_risk", "lost")


def _quintile(order: str) -> str:
    return (f"1 + CAST(FLOOR(CAST(5 AS DOUBLE) * CAST(RANK() OVER (ORDER BY {order}) - 1 "
            f"AS DOUBLE) / CAST(COUNT(*) OVER () AS DOUBLE)) AS BIGINT)")


CUSTOMER_LAYERS = Metric(
    name="layers",
    keys=("customer_id",),
    parameters=LAYER_PARAMETERS,
    sql=f"""
WITH purchases AS (
    SELECT customer_id, paid_day, paid_fen
    FROM orders
    WHERE customer_id IS NOT NULL AND paid_day IS NOT NULL AND paid_day < :as_of_day
      AND (refunded_day IS NULL OR refunded_day >= :as_of_day)
),
purchase_days AS (
    SELECT customer_id, paid_day,
           LAG(paid_day) OVER (PARTITION BY customer_id ORDER BY paid_day) AS previous_day,
           ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY paid_day DESC) AS latest_first
    FROM (SELECT DISTINCT customer_id, paid_day FROM purchases) AS distinct_days
),
bought AS (
    SELECT p.customer_id, COUNT(*) AS frequency,
           CAST(SUM(p.paid_fen) AS BIGINT) AS monetary_fen, MAX(p.paid_day) AS last_paid_day
    FROM purchases AS p GROUP BY p.customer_id
),
buyers AS (
    SELECT b.customer_id, b.frequency, b.monetary_fen, b.last_paid_day,
           :as_of_day - b.last_paid_day AS recency_days, d.previous_day,
           {_quintile("b.last_paid_day")} AS recency_quintile,
           {_quintile("b.frequency")} AS frequency_quintile,
           {_quintile("b.monetary_fen")} AS monetary_quintile
    FROM bought AS b
    JOIN purchase_days AS d ON d.customer_id = b.customer_id AND d.latest_first = 1
),
scored AS (
    SELECT customer_id, frequency, monetary_fen, last_paid_day, recency_days, previous_day,
        CASE WHEN :quantile = 1 THEN recency_quintile
             WHEN recency_days <= :recency_5 THEN 5 WHEN recency_days <= :recency_4 THEN 4
             WHEN recency_days <= :recency_3 THEN 3 WHEN recency_days <= :recency_2 THEN 2
             ELSE 1 END AS recency_score,
        CASE WHEN :quantile = 1 THEN frequency_quintile
             WHEN frequency >= :frequency_5 THEN 5 WHEN frequency >= :frequency_4 THEN 4
             WHEN frequency >= :frequency_3 THEN 3 WHEN frequency >= :frequency_2 THEN 2
             ELSE 1 END AS frequency_score,
        CASE WHEN :quantile = 1 THEN monetary_quintile
             WHEN monetary_fen >= :monetary_5 THEN 5 WHEN monetary_fen >= :monetary_4 THEN 4
             WHEN monetary_fen >= :monetary_3 THEN 3 WHEN monetary_fen >= :monetary_2 THEN 2
             ELSE 1 END AS monetary_score
    FROM buyers
)
SELECT c.id AS customer_id, c.store_id, c.acquisition_channel_id, c.acquisition_staff_id,
       c.acquired_month,
       COALESCE(s.frequency, 0) AS frequency, COALESCE(s.monetary_fen, 0) AS monetary_fen,
       s.recency_days, s.recency_score, s.frequency_score, s.monetary_score,
       CASE WHEN s.customer_id IS NULL THEN 'prospect'
            WHEN s.recency_score + s.frequency_score + s.monetary_score >= :tier_vip
                THEN 'vip'
            WHEN s.recency_score + s.frequency_score + s.monetary_score >= :tier_high
                THEN 'high'
            WHEN s.recency_score + s.frequency_score + s.monetary_score >= :tier_medium
                THEN 'medium'
            ELSE 'low' END AS value_tier,
       CASE WHEN c.acquired_day >= :as_of_day - :new_days THEN 'new'
            WHEN s.customer_id IS NULL THEN 'lost'
            WHEN s.recency_days <= :active_days AND s.previous_day IS NOT NULL
                 AND s.last_paid_day - s.previous_day > :lost_days THEN 'won_back'
            WHEN s.recency_days <= :active_days THEN 'active'
            WHEN s.recency_days <= :lost_days THEN 'at_risk'
            ELSE 'lost' END AS lifecycle_stage
FROM live_customers AS c
LEFT JOIN scored AS s ON s.customer_id = c.id
WHERE c.acquired_day < :as_of_day
""",
)

LAYER_MIX = Metric(
    name="layer_mix",
    keys=("dimension", "key_id", "layer_kind", "layer"),
    reads=("layers",),
    sql="""
WITH unpivoted AS (
    SELECT store_id, acquisition_channel_id, 'value_tier' AS layer_kind, value_tier AS layer
    FROM layers
    UNION ALL
    SELECT store_id, acquisition_channel_id, 'lifecycle_stage', lifecycle_stage FROM layers
),
counted AS (
    SELECT CASE WHEN GROUPING(store_id) = 0 THEN 'store'
                WHEN GROUPING(acquisition_channel_id) = 0 THEN 'channel'
                ELSE 'all' END AS dimension,
           CASE WHEN GROUPING(store_id) = 0 THEN store_id
                ELSE acquisition_channel_id END AS key_id,
           layer_kind, layer, COUNT(*) AS customers
    FROM unpivoted
    GROUP BY GROUPING SETS ((layer_kind, layer), (store_id, layer_kind, layer),
                            (acquisition_channel_id, layer_kind, layer))
)
SELECT m.dimension, m.key_id,
       CASE WHEN m.dimension = 'store' THEN s.code WHEN m.dimension = 'channel' THEN ch.code
            ELSE NULL END AS key_code,
       m.layer_kind, m.layer, m.customers
FROM counted AS m
LEFT JOIN stores AS s ON m.dimension = 'store' AND s.id = m.key_id
LEFT JOIN channels AS ch ON m.dimension = 'channel' AND ch.id = m.key_id
""",
)
