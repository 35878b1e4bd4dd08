"""Settings: the only reader of the environment (prefix ``YUTANG_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class Settings(BaseSettings):
    """Everything yutang reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="YUTANG_", extra="ignore")

    database_url: str = "sqlite:///./yutang.db"
    data_key: str | None = None
    """Base64 (urlsafe) 32-byte key for personal data; if unset, ``data_key_file`` is used."""
    data_key_file: Path = Path("./yutang.key")
    timezone: str = "Asia/Shanghai"
    default_locale: str = "zh_CN"
    session_idle_minutes: int = 120
    session_absolute_hours: int = 12
    login_max_failures: int = 10
    login_lockout_minutes: int = 15
    secure_cookies: bool = False
    oneid_weak_kinds: list[str] = ["device_id"]
    """Identity kinds recorded on customers but never used to merge them."""
    oneid_max_customers_per_value: int = 3
    """A value linked to more distinct values of one kind than this stops linking."""
    vendor_dir: Path | None = None
    """Where the npm assets (node_modules) live; found next to the source tree if unset."""
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    """WeCom's API; point it at ``yutang wecom-sim`` (http://127.0.0.1:8900) to simulate."""
    wecom_callback_window_seconds: int = 300
    """WeCom callbacks whose timestamp is further from now than this are refused."""
    analytics_engine: Literal["duckdb", "spark"] = "duckdb"
    """Where the metrics run: DuckDB embedded, or Apache Spark (``analytics_spark_master``)."""
    analytics_dir: Path | None = None
    """The columnar extracts (Parquet) of the operational data, and their high-water marks;
    by default one folder per database (see ``analytics_directory``)."""
    analytics_spark_master: str = "local[2]"
    analytics_rfm_method: Literal["quantile", "threshold"] = "quantile"
    """RFM scores 1-5 by quintiles of the pool, or by the fixed thresholds below."""
    analytics_recency_days_thresholds: list[int] = [30, 60, 120, 240]
    """Recency scores 5, 4, 3, 2 at most this many days since the last purchase; else 1."""
    analytics_frequency_thresholds: list[int] = [8, 5, 3, 2]
    """Frequency scores 5, 4, 3, 2 at least this many purchases; else 1."""
    analytics_monetary_fen_thresholds: list[int] = [200_000, 100_000, 50_000, 20_000]
    """Monetary scores 5, 4, 3, 2 at least this much spent (fen); else 1."""
    analytics_value_tier_scores: list[int] = [13, 10, 7]
    """R+F+M at least this for the tiers vip, high, medium; below: low."""
    analytics_new_days: int = 30
    analytics_active_days: int = 90
    analytics_lost_days: int = 180
    analytics_funnel_window_hours: int = 72


    def analytics_directory(self) -> Path:
        """``analytics_dir`` if set; else a folder of the database's own, so that two
        databases never share (and mix) extracts: ``<name>-analytics`` next to a SQLite file
        (``yutang.db`` → ``yutang-analytics``), ``./yutang-analytics-<database>`` for a
        server database."""
        if self.analytics_dir is not None:
            return self.analytics_dir
        url = make_url(self.database_url)
        database = url.database or ""
        if url.get_backend_name() == "sqlite":
            if not database or database == ":memory:" or database.startswith("file:"):
                return Path("./yutang-analytics")
            path = Path(database)
            return path.with_name(f"{path.stem}-analytics")
        return Path(f"./yutang-analytics-{database or 'default'}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
