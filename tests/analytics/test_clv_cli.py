"""``yutang clv``: JSON and table output, and a coded one-line error for every bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from tests.analytics.lifetimes_oracle import GammaGammaFitter, fit_bgnbd_tightly, pd
from tests.analytics.test_transactions_summary import lifetimes_summary, write_transactions
from yutang.analytics.transactions import TimeUnit
from yutang.cli import app
from yutang.demo.behaviour import PurchaseProcess, simulate_repeat_purchases

runner = CliRunner()
HEADER = "customer_id,date,amount\n"


def write_bgnbd_transactions(path: Path, *, customers: int, seed: int) -> None:
    """Customers acquired over 2024 who buy and drop out by BG/NBD (the demo's simulator);
    amounts are Gamma-Gamma, rounded to multiples of 0.25 (exact in binary)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 366, customers)
    repeats = simulate_repeat_purchases(rng, (400 - first) / 7.0,
                                        PurchaseProcess(r=0.8, alpha=6.0, a=0.9, b=2.5))
    customer = np.concatenate([np.arange(customers), repeats.customer])
    day = np.concatenate([first, first[repeats.customer]
                          + np.floor(repeats.weeks_after_first * 7).astype(np.int64)])
    spend_rate = rng.gamma(3.5, 1.0 / 60.0, customers)
    amount = np.round(rng.gamma(5.0, 1.0 / spend_rate[customer]) * 4) / 4
    dates = np.datetime64("2024-01-01") + day.astype("timedelta64[D]")
    order = rng.permutation(customer.size)
    pl.DataFrame({"customer_id": customer[order].astype(str),
                  "date": pl.Series(dates[order]).cast(pl.Date),
                  "amount": amount[order]}).write_csv(path)


@pytest.fixture(scope="module")
def transactions_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clv") / "transactions.csv"
    write_bgnbd_transactions(path, customers=1500, seed=8)
    return path


def test_json_prints_the_parameters_lifetimes_finds(transactions_file: Path) -> None:
    result = runner.invoke(app, ["clv", "--transactions", str(transactions_file), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"bgnbd", "gamma_gamma", "customers"}
    assert set(printed["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(printed["gamma_gamma"]) == {"p", "q", "v"}
    summary = lifetimes_summary(transactions_file, TimeUnit.WEEK, None)
    assert printed["customers"] == len(summary) == 1500
    purchases = fit_bgnbd_tightly(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    spend = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for name in ("r", "alpha", "a", "b"):
        assert abs(printed["bgnbd"][name] / purchases.params_[name] - 1) < 1e-5, name
    for name in ("p", "q", "v"):
        assert abs(printed["gamma_gamma"][name] / spend.params_[name] - 1) < 1e-5, name
    assert printed["bgnbd"]["log_likelihood"] < 0


def test_out_writes_one_row_per_customer_like_lifetimes(
    transactions_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "clv.csv"
    result = runner.invoke(app, [
        "clv", "--transactions", str(transactions_file), "--out", str(out),
        "--unit", "day", "--predict-periods", "90", "--clv-months", "6",
        "--monthly-discount", "0.02", "--observation-end", "2025-01-15",
    ])
    assert result.exit_code == 0, result.output
    assert "BG/NBD" in result.stdout and "Gamma-Gamma" in result.stdout
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["customer_id", "frequency", "recency", "T", "monetary_value",
                             "p_alive", "expected_purchases", "clv"]
    table = pd.DataFrame(rows).set_index("customer_id").astype(float).sort_index()
    summary = lifetimes_summary(transactions_file, TimeUnit.DAY,
                                pd.Timestamp("2025-01-15").date()).sort_index()
    assert list(table.index) == list(summary.index)
    for column in ("frequency", "recency", "T", "monetary_value"):
        assert np.array_equal(table[column].to_numpy(), summary[column].to_numpy()), column
    purchases = fit_bgnbd_tightly(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[summary["frequency"] > 0]
    spend = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    args = (summary["frequency"], summary["recency"], summary["T"])
    expected = {
        "p_alive": purchases.conditional_probability_alive(*args),
        "expected_purchases":
            purchases.conditional_expected_number_of_purchases_up_to_time(90, *args),
        "clv": spend.customer_lifetime_value(purchases, *args, summary["monetary_value"],
                                             time=6, discount_rate=0.02, freq="D"),
    }
    for column, theirs in expected.items():
        assert np.max(np.abs(table[column].to_numpy() / np.asarray(theirs) - 1)) < 1e-5, column


BAD_INPUTS = [
    ("missing", None, "transactions_file_not_found"),
    ("empty", "", "empty_transactions"),
    ("header only", HEADER, "empty_transactions"),
    ("missing column", "customer_id,day,amount\na,2024-01-01,1\n", "missing_columns"),
    ("bad date", HEADER + "a,2024-01-01,1\nb,2024-13-45,2\n", "bad_date"),
    ("not a date", HEADER + "a,2024-01-01,1\nb,yesterday,2\n", "bad_date"),
    ("negative amount", HEADER + "a,2024-01-01,1\nb,2024-01-02,-3\n", "negative_amount"),
    ("unparsable amount", HEADER + "a,2024-01-01,1\nb,2024-01-02,12 yuan\n", "bad_amount"),
    ("empty customer", HEADER + "a,2024-01-01,1\n,2024-01-02,3\n", "bad_customer_id"),
    ("one customer", HEADER + "a,2024-01-01,1\na,2024-02-01,2\n", "too_few_customers"),
    ("no repeat purchases", HEADER + "a,2024-01-01,1\nb,2024-02-01,2\n", "no_repeat_purchases"),
]


@pytest.mark.parametrize(("content", "code"), [(case[1], case[2]) for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_gives_a_coded_message_and_no_traceback(
    tmp_path: Path, content: str | None, code: str
) -> None:
    path = tmp_path / "transactions.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["clv", "--transactions", str(path), "--json"])
    _assert_clean_failure(result.exit_code, result.stdout, result.stderr, code)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_data_without_dropouts_has_no_maximum(tmp_path: Path) -> None:
    """Uniformly random purchase days: no one drops out, a -> 0 and b -> infinity (lifetimes
    fails to converge on it as well)."""
    path = tmp_path / "transactions.csv"
    write_transactions(path, customers=1500, seed=8)
    result = runner.invoke(app, ["clv", "--transactions", str(path)])
    _assert_clean_failure(result.exit_code, result.stdout, result.stderr,
                          "model_did_not_converge")


def test_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    path.write_text(HEADER + "a,2024-01-01,1\nb,2024-01-02,2\nc,2024-02-30,5\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["clv", "--transactions", str(path)])
    _assert_clean_failure(result.exit_code, result.stdout, result.stderr, "bad_date")
    assert "line 4" in result.stderr and "2024-02-30" in result.stderr


@pytest.mark.parametrize(("options", "code"), [
    (["--observation-end", "2023-12-31"], "observation_end_before_data"),
    (["--observation-end", "31/12/2024"], "bad_observation_end"),
    (["--unit", "month"], "bad_time_unit"),
])
def test_bad_options(transactions_file: Path, options: list[str], code: str) -> None:
    result = runner.invoke(app, ["clv", "--transactions", str(transactions_file), *options])
    _assert_clean_failure(result.exit_code, result.stdout, result.stderr, code)


def _assert_clean_failure(exit_code: int, stdout: str, stderr: str, code: str) -> None:
    assert exit_code == 2
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error {code}: ")
    assert "Traceback" not in stderr
