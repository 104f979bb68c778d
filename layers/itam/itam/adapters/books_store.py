"""Depreciation profiles on the single table: one partition per tenant, a versioned item per category
(the key layout is in itam.adapters.schema)."""

from __future__ import annotations

from collections.abc import Callable

from itam.adapters.schema import TableModels, depreciation_pk, profile_sk
from itam.adapters.table import Transaction, children_page, document, save_versioned
from itam.assets.book_models import DepreciationProfile
from itam.errors import StaleVersion
from itam.pagination import Page, PageRequest
from itam.tenancy import TenantContext


class DynamoDepreciationProfiles:
    """DepreciationProfiles on the table models of the caller's tenant."""

    def __init__(self, models_for: Callable[[TenantContext], TableModels]) -> None:
        self._models_for = models_for

    def get_profile(self, ctx: TenantContext, category: str) -> DepreciationProfile | None:
        m = self._models_for(ctx)
        return document(
            m.versioned, depreciation_pk(ctx), DepreciationProfile.model_validate_json, profile_sk(category)
        )

    def put_profile(
        self, ctx: TenantContext, profile: DepreciationProfile, expected_version: int | None
    ) -> None:
        m = self._models_for(ctx)
        item = m.versioned(
            PK=depreciation_pk(ctx),
            SK=profile_sk(profile.category),
            doc=profile.model_dump_json(),
            version=profile.version,
        )
        save_versioned(m, ctx, item, expected_version)

    def delete_profile(self, ctx: TenantContext, category: str, expected_version: int) -> None:
        m = self._models_for(ctx)
        tx = Transaction(m.connection)
        item = m.versioned(PK=depreciation_pk(ctx), SK=profile_sk(category))
        tx.delete(item, m.versioned.version == expected_version, StaleVersion)
        tx.commit()

    def list_profiles(self, ctx: TenantContext, page: PageRequest) -> Page[DepreciationProfile]:
        m = self._models_for(ctx)
        return children_page(
            m,
            f"{ctx.tenant_id}|depreciation-profiles",
            depreciation_pk(ctx),
            "PROFILE#",
            page,
            lambda item: DepreciationProfile.model_validate_json(item.doc or ""),
        )
