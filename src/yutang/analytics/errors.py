"""Expected failures of the analytics use cases, each with a stable code."""

from __future__ import annotations

from yutang.kit.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class TransactionsFileNotFound(NotFound):
    code = "transactions_file_not_found"


class TransactionsFileUnreadable(InvalidInput):
    code = "transactions_file_unreadable"


class MissingColumns(InvalidInput):
    code = "missing_columns"


class EmptyTransactions(InvalidInput):
    code = "empty_transactions"


class BadCustomerId(InvalidInput):
    code = "bad_customer_id"


class BadDate(InvalidInput):
    code = "bad_date"


class BadAmount(InvalidInput):
    code = "bad_amount"


class NegativeAmount(InvalidInput):
    code = "negative_amount"


class ObservationEndBeforeData(InvalidInput):
    code = "observation_end_before_data"


class TooFewCustomers(InvalidInput):
    code = "too_few_customers"


class NoRepeatPurchases(InvalidInput):
    code = "no_repeat_purchases"


class ModelDidNotConverge(DomainError):
    """The likelihood has no interior maximum on this data (or the optimiser could not find it)."""

    code = "model_did_not_converge"
    status = 422


class BadObservationEnd(InvalidInput):
    code = "bad_observation_end"


class SpendMeanUndefined(DomainError):
    """Gamma-Gamma with q <= 1: the population's mean spend per purchase is infinite."""

    code = "spend_mean_undefined"
    status = 422


class BadTimeUnit(InvalidInput):
    code = "bad_time_unit"


class ExtractMissing(DomainError):
    """No analytics extract yet: ``yutang analytics refresh`` writes it."""

    code = "analytics_extract_missing"
    status = 409


class ExtractUnreadable(DomainError):
    code = "analytics_extract_unreadable"
    status = 409


class EngineUnavailable(DomainError):
    """The configured engine cannot start (pyspark not installed, no Java…)."""

    code = "analytics_engine_unavailable"
    status = 503


class BadLayeringPolicy(InvalidInput):
    code = "bad_layering_policy"


class BadReportKind(InvalidInput):
    code = "bad_report_kind"


class BadReportDate(InvalidInput):
    code = "bad_report_date"


class BadReportFormat(InvalidInput):
    code = "bad_report_format"


class ReportStoreNotFound(NotFound):
    code = "report_store_not_found"


class MerchantWideOnly(PermissionDenied):
    """A store-scoped principal asked for figures that cover the whole merchant."""

    code = "analytics_merchant_wide_only"


class RefreshNotAllowed(PermissionDenied):
    code = "analytics_refresh_not_allowed"


class RefreshInProgress(Conflict):
    """Another refresh of the same extract is running."""

    code = "analytics_refresh_in_progress"


class BadAnalyticsParameter(InvalidInput):
    code = "bad_analytics_parameter"
