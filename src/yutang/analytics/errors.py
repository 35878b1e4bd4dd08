"""Expected failures of the analytics use cases, each with a stable code."""

from __future__ import annotations

from yutang.kit.errors import DomainError, InvalidInput, NotFound


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
