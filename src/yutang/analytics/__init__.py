"""Analytics: read-only numbers about customers — the Parquet extract, metric definitions run
on DuckDB or Spark (ADR 0006), layering, CLV, CAC and ROI, funnels, cohorts and reviews.

The one write to operational data is the layering write-back (``layers_writeback``); this
package imports ``kit`` and lower domains only.
"""
