"""Acquisition on the engine: CAC per channel and month, the CLV transaction summary, and
revenue by months since acquisition (for payback).

New customers are live customers attributed by first touch (``acquisition_channel_id``,
``acquired_month`` — a merge keeps the earliest acquisition on the survivor), so a person is
acquired once. CAC = spend ÷ new customers of the channel and month.
"""

from __future__ import annotations

from yutang.analytics.metric import Metric

ACQUISITION_COST = Metric(
    name="acquisition_cost",
    keys=("channel_id", "month"),
    parameters=("first_month", "end_month"),
    sql="""
WITH acquired AS (
    SELECT acquisition_channel_id AS channel_id, acquired_month AS month,
           COUNT(*) AS new_customers
    FROM live_customers
    WHERE acquisition_channel_id IS NOT NULL
      AND acquired_month >= :first_month AND acquired_month < :end_month
    GROUP BY acquisition_channel_id, acquired_month
),
spent AS (
    SELECT channel_id, month, CAST(SUM(amount_fen) AS BIGINT) AS spend_fen
    FROM channel_spend WHERE month >= :first_month AND month < :end_month
    GROUP BY channel_id, month
),
joined AS (
    SELECT COALESCE(a.channel_id, s.channel_id) AS channel_id,
           COALESCE(a.month, s.month) AS month,
           COALESCE(a.new_customers, 0) AS new_customers,
           COALESCE(s.spend_fen, 0) AS spend_fen
    FROM acquired AS a FULL OUTER JOIN spent AS s
      ON s.channel_id = a.channel_id AND s.month = a.month
)
SELECT j.channel_id, ch.code AS channel_code, ch.name AS channel_name, ch.kind AS channel_kind,
       ch.domain AS channel_domain, j.month, j.new_customers, j.spend_fen,
       CAST(j.spend_fen AS DOUBLE) / NULLIF(j.new_customers, 0) AS cac_fen
FROM joined AS j LEFT JOIN channels AS ch ON ch.id = j.channel_id
""",
)

ACQUISITION_COST_BY_CHANNEL = Metric(
    name="acquisition_cost_by_channel",
    keys=("channel_id",),
    parameters=("first_month", "end_month"),
    sql="""
WITH acquired AS (
    SELECT acquisition_channel_id AS channel_id, COUNT(*) AS new_customers
    FROM live_customers
    WHERE acquisition_channel_id IS NOT NULL
      AND acquired_month >= :first_month AND acquired_month < :end_month
    GROUP BY acquisition_channel_id
),
spent AS (
    SELECT channel_id, CAST(SUM(amount_fen) AS BIGINT) AS spend_fen
    FROM channel_spend WHERE month >= :first_month AND month < :end_month
    GROUP BY channel_id
)
SELECT ch.id AS channel_id, ch.code AS channel_code, ch.name AS channel_name,
       ch.kind AS channel_kind, ch.domain AS channel_domain,
       COALESCE(a.new_customers, 0) AS new_customers, COALESCE(s.spend_fen, 0) AS spend_fen,
       CAST(COALESCE(s.spend_fen, 0) AS DOUBLE) / NULLIF(a.new_customers, 0) AS cac_fen
FROM channels AS ch
LEFT JOIN acquired AS a ON a.channel_id = ch.id
LEFT JOIN spent AS s ON s.channel_id = ch.id
""",
)

CLV_SUMMARY = Metric(
    name="clv_summary",
    keys=("customer_id",),
    parameters=("as_of_day", "as_of_s"),
    sql="""
WITH purchases AS (
    SELECT customer_id, paid_s, CAST(SUM(paid_fen) AS BIGINT) AS amount_fen
    FROM orders
    WHERE customer_id IS NOT NULL AND paid_s IS NOT NULL AND paid_day < :as_of_day
    GROUP BY customer_id, paid_s
),
numbered AS (
    SELECT customer_id, paid_s, amount_fen,
           ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY paid_s) AS purchase_number
    FROM purchases
)
SELECT c.id AS customer_id, c.store_id, c.acquisition_channel_id, c.acquired_month,
       COUNT(*) - 1 AS frequency,
       CAST(MAX(n.paid_s) - MIN(n.paid_s) AS DOUBLE) / 86400 AS recency_days,
       CAST(:as_of_s - MIN(n.paid_s) AS DOUBLE) / 86400 AS age_days,
       CAST(SUM(CASE WHEN n.purchase_number > 1 THEN n.amount_fen ELSE 0 END) AS BIGINT)
           AS repeat_fen,
       CAST(SUM(n.amount_fen) AS BIGINT) AS revenue_fen
FROM live_customers AS c JOIN numbered AS n ON n.customer_id = c.id
GROUP BY c.id, c.store_id, c.acquisition_channel_id, c.acquired_month
""",
)
"""Per customer: BG/NBD's (x, t_x, T) and the repeat spend. A purchase is a paid order at
its exact time (orders paid in the same second, one checkout split in several, are one):
the demo plants purchases in continuous time, and counting local days instead would merge a
frequent buyer's same-day purchases into one and bias r and alpha (at 1,000,000 customers by
3-7 standard errors; ``yutang clv`` works on dates because its files carry only dates)."""


CHANNEL_MONTH_REVENUE = Metric(
    name="channel_month_revenue",
    keys=("channel_id", "acquired_month", "month_offset"),
    parameters=("as_of_day",),
    sql="""
WITH cohort AS (
    SELECT id AS customer_id, acquisition_channel_id AS channel_id, acquired_month
    FROM live_customers WHERE acquired_day < :as_of_day
),
sizes AS (
    SELECT channel_id, acquired_month, COUNT(*) AS customers
    FROM cohort GROUP BY channel_id, acquired_month
),
revenue AS (
    SELECT c.channel_id, c.acquired_month,
           CAST((YEAR(o.paid_month) * 12 + MONTH(o.paid_month))
                - (YEAR(c.acquired_month) * 12 + MONTH(c.acquired_month)) AS BIGINT)
               AS month_offset,
           CAST(SUM(o.paid_fen) AS BIGINT) AS revenue_fen
    FROM cohort AS c JOIN orders AS o ON o.customer_id = c.customer_id
    WHERE o.paid_day IS NOT NULL AND o.paid_day < :as_of_day
      AND (o.refunded_day IS NULL OR o.refunded_day >= :as_of_day)
    GROUP BY c.channel_id, c.acquired_month,
             CAST((YEAR(o.paid_month) * 12 + MONTH(o.paid_month))
                  - (YEAR(c.acquired_month) * 12 + MONTH(c.acquired_month)) AS BIGINT)
)
SELECT s.channel_id, s.acquired_month, s.customers,
       COALESCE(r.month_offset, 0) AS month_offset, COALESCE(r.revenue_fen, 0) AS revenue_fen
FROM sizes AS s
LEFT JOIN revenue AS r ON r.acquired_month = s.acquired_month
     AND (r.channel_id = s.channel_id OR (r.channel_id IS NULL AND s.channel_id IS NULL))
""",
)
