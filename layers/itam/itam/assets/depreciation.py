"""Depreciation: an asset's schedule and book value, in Decimal, from its cost and depreciation terms.

The rules (the README's "Depreciation and book value" says the same to users):
- The life is `useful_life_months` long and starts at the start date. Its years count from the start
  date (the first year ends the day before the start's anniversary); the last year is shorter when the
  life is not a whole number of years.
- Each year's depreciation is decided by the method; within a year it is spread evenly over the
  year's months, and the year's last month takes what rounding leaves, so that months add up to
  their year exactly. A month's depreciation counts once the month has ended: the book value as of a
  date is the cost less the depreciation of every month that ended on or before it.
- The book value never goes below the salvage value, and the last year takes it to the salvage value
  exactly. A salvage value at or above the cost means nothing depreciates.
- Methods, for a depreciable base of cost - salvage:
  - `straight_line`: the base over the months of life, so a full year takes 12 months' worth;
  - `sum_of_years_digits`: year k weighs the years of life left at its start (5, 4, 3, 2, 1 for
    five years; 1.5 and 0.5 for eighteen months), out of the sum of those weights;
  - `declining_balance`: the year's `rate` of the book value at the year's start (pro rata for a
    short last year), never below salvage;
  - `double_declining_balance`: the same, with twice the straight-line rate (2 / years of life).
- Amounts are rounded half up to the cost's own decimal places, at least 2 and at most 4.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from itam.assets.models import DepreciationMethod as Method


@dataclass(frozen=True)
class Terms:
    """What a depreciation is computed from (amounts in one currency)."""

    method: Method
    useful_life_months: int
    cost: Decimal
    salvage: Decimal
    start: date
    rate: Decimal | None = None  # declining_balance only: the yearly rate, 0 < rate <= 1


@dataclass(frozen=True)
class Period:
    """One year or month of the schedule."""

    number: int
    start: date
    end: date
    depreciation: Decimal
    accumulated: Decimal
    book_value: Decimal


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, the day of the month kept where the month has it (else its last)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def quantum(cost: Decimal) -> Decimal:
    """The rounding step: the cost's own decimal places, at least 2 and at most 4."""
    exponent = cost.as_tuple().exponent
    places = min(4, max(2, -exponent if isinstance(exponent, int) else 2))
    return Decimal(1).scaleb(-places)


def _round(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def _year_months(life: int) -> list[int]:
    """The months in each year of a life of `life` months."""
    return [min(12, life - start) for start in range(0, life, 12)]


def yearly(terms: Terms) -> list[Decimal]:
    """The depreciation of each year of life, rounded; together exactly cost - salvage."""
    step = quantum(terms.cost)
    months = _year_months(terms.useful_life_months)
    base = max(Decimal(0), terms.cost - terms.salvage)
    if base == 0:
        return [Decimal(0).quantize(step) for _ in months]
    life = Decimal(terms.useful_life_months)
    amounts: list[Decimal] = []
    if terms.method is Method.STRAIGHT_LINE:
        amounts = [_round(base * m / life, step) for m in months]
    elif terms.method is Method.SUM_OF_YEARS_DIGITS:
        weights = [(life - 12 * k) / 12 for k in range(len(months))]
        total = sum(weights, Decimal(0))
        amounts = [_round(base * w / total, step) for w in weights]
    else:
        rate = terms.rate if terms.method is Method.DECLINING_BALANCE else Decimal(24) / life
        assert rate is not None
        book = terms.cost
        for m in months:
            amount = min(_round(book * rate * m / 12, step), book - terms.salvage)
            amounts.append(amount)
            book -= amount
    amounts[-1] = base - sum(amounts[:-1], Decimal(0))  # the last year reaches salvage exactly
    if amounts[-1] < 0:  # rounding overshot the base before the last year: never below salvage
        raise ArithmeticError("depreciation overshot the depreciable base")
    return amounts


def monthly(terms: Terms) -> list[Decimal]:
    """The depreciation of each month of life: each year's spread evenly, its last month taking the rest."""
    step = quantum(terms.cost)
    out: list[Decimal] = []
    for amount, months in zip(yearly(terms), _year_months(terms.useful_life_months), strict=True):
        share = _round(amount / months, step)
        out.extend([share] * (months - 1))
        out.append(amount - share * (months - 1))
    return out


def schedule(terms: Terms, period: str) -> list[Period]:
    """The schedule by `period` ("year" or "month"), from the start date to the end of life."""
    amounts = yearly(terms) if period == "year" else monthly(terms)
    length = 12 if period == "year" else 1
    periods: list[Period] = []
    accumulated = Decimal(0).quantize(quantum(terms.cost))
    for index, amount in enumerate(amounts):
        start = add_months(terms.start, index * length)
        end = min(
            add_months(terms.start, (index + 1) * length), add_months(terms.start, terms.useful_life_months)
        ) - timedelta(days=1)
        accumulated += amount
        periods.append(Period(index + 1, start, end, amount, accumulated, terms.cost - accumulated))
    return periods


def life_end(terms: Terms) -> date:
    """The last day of the useful life."""
    return add_months(terms.start, terms.useful_life_months) - timedelta(days=1)


def accumulated_on(terms: Terms, as_of: date) -> Decimal:
    """The depreciation of every month of life that ended on or before `as_of`."""
    total = Decimal(0).quantize(quantum(terms.cost))
    for index, amount in enumerate(monthly(terms)):
        if add_months(terms.start, index + 1) - timedelta(days=1) > as_of:
            break
        total += amount
    return total


def book_value_on(terms: Terms, as_of: date) -> Decimal:
    """The book value as of `as_of`: the cost before the start date, the salvage value after the life."""
    return terms.cost - accumulated_on(terms, as_of)
