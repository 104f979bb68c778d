"""Contracts on the single table: the contract and its history in its own partition, listed through
GSI1, and one key in each covered asset's or license's partition (the key layout is in
itam.adapters.schema)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pynamodb.expressions.condition import Condition

from itam.adapters.schema import (
    ContractItem,
    Item,
    TableModels,
    asset_pk,
    contract_listing_pk,
    contract_pk,
    cover_sk,
    license_pk,
    unique_form,
)
from itam.adapters.table import (
    Transaction,
    bind_idempotency_key,
    children_page,
    idempotency_record,
    query_page,
    register_tenant,
)
from itam.contracts.models import Contract, ContractFilter, ContractHistoryEvent
from itam.errors import StaleVersion
from itam.idempotency import IdempotencyClaim, IdempotencyRecord
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext


def _covered_keys(ctx: TenantContext, contract: Contract) -> set[str]:
    return {asset_pk(ctx, a) for a in contract.asset_ids} | {
        license_pk(ctx, lic) for lic in contract.license_ids
    }


class DynamoContractRepository:
    """ContractRepository on the table models of the caller's tenant."""

    def __init__(self, models_for: Callable[[TenantContext], TableModels]) -> None:
        self._models_for = models_for

    def create(
        self,
        ctx: TenantContext,
        contract: Contract,
        event: ContractHistoryEvent,
        claim: IdempotencyClaim | None,
    ) -> None:
        m = self._models_for(ctx)
        tx = Transaction(m.connection)
        bind_idempotency_key(m, ctx, tx, claim, contract.id, int(event.at.timestamp()))
        tx.save(self._item(ctx, m, contract), m.item.PK.does_not_exist(), StaleVersion)
        self._history(ctx, m, tx, event)
        self._cover(m, tx, contract.id, _covered_keys(ctx, contract), set())
        register_tenant(m, ctx, tx)
        tx.commit()

    def idempotency_record(self, ctx: TenantContext, key_digest: str, now: int) -> IdempotencyRecord | None:
        return idempotency_record(self._models_for(ctx), ctx, key_digest, now)

    def get(self, ctx: TenantContext, contract_id: str) -> Contract | None:
        m = self._models_for(ctx)
        try:
            item = m.contract.get(contract_pk(ctx, contract_id), "META", consistent_read=True)
        except m.contract.DoesNotExist:
            return None
        return Contract.model_validate_json(item.doc or "")

    def update(
        self, ctx: TenantContext, previous: Contract, current: Contract, event: ContractHistoryEvent
    ) -> None:
        m = self._models_for(ctx)
        tx = Transaction(m.connection)
        tx.save(self._item(ctx, m, current), m.contract.version == previous.version, StaleVersion)
        self._history(ctx, m, tx, event)
        self._cover(m, tx, current.id, _covered_keys(ctx, current), _covered_keys(ctx, previous))
        tx.commit()

    def listing(self, ctx: TenantContext, filters: ContractFilter, page: PageRequest) -> Page[Contract]:
        m = self._models_for(ctx)
        conditions: list[Condition] = []
        if filters.type is not None:
            conditions.append(m.contract.type == filters.type.value)
        if filters.vendor is not None:
            conditions.append(m.contract.vendor_key == unique_form(filters.vendor))
        if filters.ending_after is not None:
            conditions.append(m.contract.end_date >= filters.ending_after.isoformat())
        if filters.ending_before is not None:
            conditions.append(m.contract.end_date <= filters.ending_before.isoformat())
        condition: Condition | None = None
        for each in conditions:
            condition = each if condition is None else condition & each
        return query_page(
            m,
            m.indexes["GSI1"].query,
            contract_listing_pk(ctx),
            "GSI1",
            f"{ctx.tenant_id}|contracts|{filters.model_dump_json()}",
            page,
            lambda item: Contract.model_validate_json(item.doc or ""),
            pk_prefix=contract_pk(ctx, ""),
            filter_condition=condition,
            scan_index_forward=False,
        )

    def history(self, ctx: TenantContext, contract_id: str, page: PageRequest) -> Page[ContractHistoryEvent]:
        m = self._models_for(ctx)
        pk = contract_pk(ctx, contract_id)
        return children_page(
            m,
            f"{ctx.tenant_id}|{pk}|HIST#",
            pk,
            "HIST#",
            page,
            lambda item: ContractHistoryEvent.model_validate_json(item.doc or ""),
        )

    def covering(self, ctx: TenantContext, asset_id: str) -> list[Contract]:
        m = self._models_for(ctx)
        ids = [
            item.SK.removeprefix("CONTRACT#")
            for item in m.item.query(
                asset_pk(ctx, asset_id), m.item.SK.startswith("CONTRACT#"), consistent_read=True
            )
        ]
        keys = [(contract_pk(ctx, contract_id), "META") for contract_id in ids]
        found = (
            [Contract.model_validate_json(item.doc or "") for item in m.contract.batch_get(keys)]
            if keys
            else []
        )
        return sorted(found, key=lambda c: c.id)

    @staticmethod
    def _item(ctx: TenantContext, m: TableModels, contract: Contract) -> ContractItem:
        return m.contract(
            PK=contract_pk(ctx, contract.id),
            SK="META",
            doc=contract.model_dump_json(),
            version=contract.version,
            type=contract.type.value,
            vendor_key=unique_form(contract.vendor),
            end_date=contract.end_date.isoformat() if contract.end_date is not None else None,
            GSI1PK=contract_listing_pk(ctx),
            GSI1SK=contract.id,
        )

    @staticmethod
    def _history(ctx: TenantContext, m: TableModels, tx: Transaction, event: ContractHistoryEvent) -> None:
        item = m.history(
            PK=contract_pk(ctx, event.contract_id),
            SK=f"HIST#{event.version:010d}",
            doc=event.model_dump_json(),
        )
        tx.save(item, m.item.PK.does_not_exist(), StaleVersion)

    @staticmethod
    def _cover(m: TableModels, tx: Transaction, contract_id: str, now: set[str], before: set[str]) -> None:
        """Add the keys of what the contract covers now, remove those of what it no longer covers."""
        for pk in sorted(now - before):
            tx.save(m.record(PK=pk, SK=cover_sk(contract_id)), m.item.PK.does_not_exist(), StaleVersion)
        for pk in sorted(before - now):
            tx.delete(m.record(PK=pk, SK=cover_sk(contract_id)), m.item.PK.exists(), StaleVersion)


class TenantRegister:
    """Register (the contracts' port) on the asset and license items of the caller's tenant."""

    def __init__(self, models_for: Callable[[TenantContext], TableModels]) -> None:
        self._models_for = models_for

    def missing_assets(self, ctx: TenantContext, asset_ids: Sequence[str]) -> list[str]:
        return self._missing(ctx, [(asset_pk(ctx, a), a) for a in asset_ids])

    def missing_licenses(self, ctx: TenantContext, license_ids: Sequence[str]) -> list[str]:
        return self._missing(ctx, [(license_pk(ctx, lic), lic) for lic in license_ids])

    def _missing(self, ctx: TenantContext, keys: list[tuple[str, str]]) -> list[str]:
        m = self._models_for(ctx)
        found: set[str] = {item.PK for item in m.item.batch_get([(pk, "META") for pk, _ in keys])}
        return [object_id for pk, object_id in keys if pk not in found]


_Item = Item  # the base of every item class, for readers of this module
