"""Depreciation arithmetic: the worked example of the README, exactly, in Decimal, and its rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from itam.assets.depreciation import (
    Method,
    Terms,
    accumulated_on,
    add_months,
    book_value_on,
    life_end,
    monthly,
    schedule,
    yearly,
)

D = Decimal
START = date(2024, 3, 15)


def example(method: Method, rate: str | None = None) -> Terms:
    """Cost 10,000.00, salvage 1,000.00, 60 months."""
    return Terms(method, 60, D("10000.00"), D("1000.00"), START, D(rate) if rate else None)


@pytest.mark.parametrize(
    ("method", "depreciation", "book"),
    [
        (Method.STRAIGHT_LINE, ["1800"] * 5, ["8200", "6400", "4600", "2800", "1000"]),
        (
            Method.SUM_OF_YEARS_DIGITS,
            ["3000", "2400", "1800", "1200", "600"],
            ["7000", "4600", "2800", "1600", "1000"],
        ),
        (
            Method.DOUBLE_DECLINING_BALANCE,
            ["4000", "2400", "1440", "864", "296"],
            ["6000", "3600", "2160", "1296", "1000"],
        ),
    ],
)
def test_the_worked_example_year_by_year(method: Method, depreciation: list[str], book: list[str]) -> None:
    periods = schedule(example(method), "year")
    assert [p.depreciation for p in periods] == [D(x).quantize(D("0.01")) for x in depreciation]
    assert [p.book_value for p in periods] == [D(x).quantize(D("0.01")) for x in book]
    assert str(periods[0].depreciation).endswith(".00")  # amounts keep the cost's places
    assert periods[0].start == START and periods[0].end == date(2025, 3, 14)
    assert periods[-1].end == date(2029, 3, 14) == life_end(example(method))
    assert periods[-1].accumulated == D("9000.00")


def test_declining_balance_takes_its_rate_of_the_book_value_and_the_last_year_reaches_salvage() -> None:
    amounts = yearly(example(Method.DECLINING_BALANCE, "0.3"))
    assert amounts == [D("3000.00"), D("2100.00"), D("1470.00"), D("1029.00"), D("1401.00")]


def test_the_book_value_never_goes_below_salvage() -> None:
    steep = Terms(Method.DECLINING_BALANCE, 36, D("1000"), D("400"), START, D("0.9"))
    periods = schedule(steep, "year")
    assert [p.book_value for p in periods] == [D("400.00")] * 3
    assert min(p.book_value for p in schedule(steep, "month")) == D("400.00")


def test_months_spread_their_year_evenly_and_add_up_to_it_exactly() -> None:
    terms = Terms(Method.SUM_OF_YEARS_DIGITS, 36, D("1000"), D("0"), START)
    months = monthly(terms)
    assert len(months) == 36
    for year, amount in enumerate(yearly(terms)):
        share = months[year * 12 : (year + 1) * 12]
        assert sum(share) == amount
        assert len(set(share[:-1])) == 1  # even, the last month takes what rounding leaves
    assert sum(months) == D("1000.00")


def test_a_month_counts_once_it_has_ended() -> None:
    terms = example(Method.STRAIGHT_LINE)
    assert book_value_on(terms, date(2024, 3, 1)) == D("10000.00")  # before the start
    assert book_value_on(terms, START) == D("10000.00")
    assert book_value_on(terms, date(2024, 4, 13)) == D("10000.00")
    assert book_value_on(terms, date(2024, 4, 14)) == D("9850.00")  # the first month ended
    assert book_value_on(terms, date(2025, 3, 14)) == D("8200.00")  # the first year ended
    assert book_value_on(terms, date(2040, 1, 1)) == D("1000.00")  # after the life: salvage
    assert accumulated_on(terms, date(2026, 3, 14)) == D("3600.00")


def test_a_life_that_is_not_whole_years_ends_with_a_short_year() -> None:
    terms = Terms(Method.SUM_OF_YEARS_DIGITS, 18, D("1000"), D("0"), date(2024, 1, 31))
    periods = schedule(terms, "year")
    assert [p.depreciation for p in periods] == [D("750.00"), D("250.00")]  # weights 1.5 and 0.5
    assert (periods[1].start, periods[1].end) == (date(2025, 1, 31), date(2025, 7, 30))
    straight = Terms(Method.STRAIGHT_LINE, 18, D("1800"), D("0"), date(2024, 1, 31))
    assert yearly(straight) == [D("1200.00"), D("600.00")]
    assert len(schedule(straight, "month")) == 18


def test_a_salvage_value_at_or_above_cost_depreciates_nothing() -> None:
    terms = Terms(Method.DOUBLE_DECLINING_BALANCE, 24, D("500"), D("600"), START)
    assert [p.book_value for p in schedule(terms, "year")] == [D("500.00"), D("500.00")]
    assert book_value_on(terms, date(2030, 1, 1)) == D("500.00")


def test_amounts_keep_the_cost_places_between_two_and_four() -> None:
    yen = Terms(Method.STRAIGHT_LINE, 36, D("100000"), D("0"), START)
    assert str(yearly(yen)[0]) == "33333.33"
    precise = Terms(Method.STRAIGHT_LINE, 36, D("1000.0001"), D("0"), START)
    assert str(yearly(precise)[0]) == "333.3334"
    assert sum(yearly(precise)) == D("1000.0001")


def test_months_are_added_keeping_the_day_where_the_month_has_it() -> None:
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2024, 3, 15), -3) == date(2023, 12, 15)
