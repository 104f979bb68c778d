"""Total cost of ownership arithmetic: contract shares and terms, the window, currencies apart."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from itam.assets.models import Asset
from itam.assets.tco import ContractFacts, LicenseFacts, default_window, total_cost

D = Decimal
ASSET = Asset.model_validate(
    {
        "id": "a" * 32,
        "name": "Server",
        "kind": "hardware",
        "status": "deployed",
        "version": 1,
        "created_at": datetime(2026, 2, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 2, 1, tzinfo=UTC),
        "created_by": "u",
        "updated_by": "u",
        "cost": {"amount": "1000.0000", "currency": "CHF"},
    }
)


def contract(
    period: str, start: date, end: date | None, amount: str = "365", covered: int = 1
) -> ContractFacts:
    return ContractFacts("c" * 32, "a contract", start, end, D(amount), "EUR", period, covered)


def test_a_term_counts_its_days_inside_the_window() -> None:
    window = (date(2026, 1, 1), date(2026, 1, 10))
    yearly = total_cost(ASSET, [], [contract("year", date(2025, 6, 1), None)], [], *window)
    assert yearly.totals[0].contracts == D("10.00")  # 365 a year, 10 days, an open-ended term
    monthly = total_cost(
        ASSET, [], [contract("month", date(2026, 1, 5), date(2026, 2, 1), "30.4167")], [], *window
    )
    assert monthly.items[0].on == date(2026, 1, 5) and monthly.items[0].until == date(2026, 1, 10)
    assert monthly.totals[0].contracts == D("6.0000")  # 30.4167 x 12 x 6 / 365, to the amount's places
    ended = total_cost(ASSET, [], [contract("year", date(2024, 1, 1), date(2025, 12, 31))], [], *window)
    assert ended.items == [] and ended.totals == []


def test_a_one_time_cost_counts_on_its_start_and_is_shared() -> None:
    inside = total_cost(
        ASSET,
        [],
        [contract("one_time", date(2026, 3, 1), None, "100", covered=3)],
        [],
        date(2026, 1, 1),
        date(2026, 12, 31),
    )
    assert next(t for t in inside.totals if t.currency == "EUR").contracts == D("33.33")
    assert [i.description for i in inside.items if i.category == "contracts"] == ["a contract (1/3)"]
    outside = total_cost(
        ASSET, [], [contract("one_time", date(2025, 3, 1), None)], [], date(2026, 1, 1), date(2026, 12, 31)
    )
    assert [i for i in outside.items if i.category == "contracts"] == []


def test_the_purchase_defaults_to_the_creation_day_and_keeps_its_places() -> None:
    start, end = default_window(ASSET, None, None, date(2026, 12, 4))
    assert (start, end) == (date(2026, 2, 1), date(2026, 12, 4))
    cost = total_cost(ASSET, [], [], [], start, end)
    assert [(t.currency, str(t.acquisition), str(t.total)) for t in cost.totals] == [
        ("CHF", "1000.0000", "1000.0000")
    ]


def test_what_has_no_unit_cost_is_listed_not_guessed() -> None:
    held = [
        LicenseFacts("seat", "s1", "l1", "Visio", date(2026, 3, 1), D("50"), "EUR"),
        LicenseFacts("installation", "i1", None, "Tool", date(2026, 3, 1), None, None),
        LicenseFacts("seat", "s2", "l2", "Old", date(2020, 3, 1), D("50"), "EUR"),
    ]
    cost = total_cost(ASSET, [], [], held, date(2026, 1, 1), date(2026, 12, 31))
    assert [i.ref for i in cost.items if i.category == "licenses"] == ["s1"]
    assert cost.unpriced == ["installation i1 (Tool): no license with a unit cost"]
