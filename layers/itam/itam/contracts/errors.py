"""Errors of the contracts context."""

from __future__ import annotations

from itam.errors import InvalidInput, NotFound


class ContractNotFound(NotFound):
    def __init__(self, contract_id: str) -> None:
        super().__init__(f"contract {contract_id} does not exist")


class UnknownCovered(InvalidInput):
    """A covered asset or license that is not the tenant's."""

    def __init__(self, noun: str, ids: list[str], field: str) -> None:
        super().__init__(f"no such {noun} in this tenant: {', '.join(ids)}", field)
