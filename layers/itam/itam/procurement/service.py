"""Procurement intake: webhook endpoints and their secrets, verified exactly-once intake, and the
processing that turns purchasing events into assets and license entitlements."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from itam.assets.models import AssetCreate, AssetPatch, Kind, Status, TransitionRequest
from itam.assets.service import AssetService
from itam.clock import SystemClock, TimeOrderedIds
from itam.errors import (
    DomainError,
    IllegalTransition,
    InvalidInput,
    InvalidState,
    KeyAlreadyUsed,
    MalformedInput,
    NotFound,
    PreconditionFailed,
    StaleVersion,
    WriteConflict,
)
from itam.idempotency import IdempotencyClaim, claim_of, create_once
from itam.json_text import parse_object
from itam.licenses.models import LicenseCreate, LicensePatch, Metric
from itam.licenses.service import LicenseService
from itam.pagination import Page, PageRequest
from itam.ports import Clock, IdGenerator, JobQueue, SecretStore
from itam.procurement import precoro
from itam.procurement.errors import EndpointNotFound, SecretRotated, SignatureRejected
from itam.procurement.models import (
    Accepted,
    Category,
    Delivery,
    DeliveryStatus,
    EndpointCreate,
    EndpointPatch,
    EndpointWithSecret,
    Provider,
    PurchaseEvent,
    PurchaseOrder,
    RotateRequest,
    WebhookEndpoint,
)
from itam.procurement.orders import EntitlementPlan, UnitPlan, merge, plan, po_number_of
from itam.procurement.ports import EndpointDirectory, ProcurementRepository, RequestFulfilment
from itam.tenancy import TENANT_ID_PATTERN, Permission, TenantContext

ENDPOINT_ID = re.compile(r"^(?P<tenant>[a-z0-9][a-z0-9-]{1,62})\.(?P<id>[0-9a-f]{32})$")
WEBHOOK_ID = re.compile(r"^[\x21-\x7e]{1,255}$")
MAX_BODY_BYTES = 256 * 1024
TOLERANCE = timedelta(minutes=5)
EVENT = TypeAdapter(PurchaseEvent)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class EndpointService:
    """Webhook endpoints of a tenant: admins change them, admins and auditors read them. The signing
    secret is shown by the create (and its replays) and by a rotation only."""

    def __init__(
        self,
        repository_for: Callable[[TenantContext], ProcurementRepository],
        store: SecretStore,
        secret_prefix: str,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
    ) -> None:
        self._repo_for = repository_for
        self._store = store
        self._prefix = secret_prefix
        self._clock = clock or SystemClock()
        self._ids = ids or TimeOrderedIds()

    def secret_name(self, ctx: TenantContext, endpoint_id: str) -> str:
        return f"{self._prefix}/{ctx.tenant_id}/{endpoint_id}"

    def create(
        self, ctx: TenantContext, data: EndpointCreate, idempotency_key: str | None = None
    ) -> EndpointWithSecret:
        """A new endpoint and its signing secret. With an Idempotency-Key, the same request sent again
        by the same person gets the same answer, secret included, and creates nothing; once the
        secret has been rotated, the replay is refused (409): the first secret is gone."""
        ctx.require(Permission.ADMIN)
        now = self._clock.now()
        repo = self._repo_for(ctx)
        # The answer holds the signing secret: someone else's key is no replay of theirs.
        claim = claim_of(idempotency_key, f"webhook-endpoint|{ctx.user_id}|{data.model_dump_json()}", now)
        return create_once(
            ctx,
            repo,
            claim,
            now,
            lambda: self._create(ctx, data, now, claim),
            lambda first: self._created_before(ctx, first),
            look_first=True,
        )

    def _create(
        self, ctx: TenantContext, data: EndpointCreate, now: datetime, claim: IdempotencyClaim | None
    ) -> EndpointWithSecret:
        endpoint_id = f"{ctx.tenant_id}.{self._ids.new_id()}"
        endpoint = WebhookEndpoint(
            **data.model_dump(exclude={"api_token", "api_email"}),
            id=endpoint_id,
            url_path=f"/v1/webhooks/{endpoint_id}",
            version=1,
            created_at=now,
            created_by=ctx.user_id,
            updated_at=now,
        )
        secret = new_secret()
        stored: dict[str, str] = {"current": secret}
        if data.api_token is not None and data.api_email is not None:
            stored |= {"api_token": data.api_token, "api_email": data.api_email}
        name = self.secret_name(ctx, endpoint_id)
        self._store.create(ctx, name, stored)
        try:
            self._repo_for(ctx).save_endpoint(ctx, endpoint, None, claim)
        except (KeyAlreadyUsed, WriteConflict):
            self._store.delete(ctx, name)  # nothing was written: the secret would be nobody's
            raise
        return EndpointWithSecret(**endpoint.model_dump(), secret=secret)

    def _created_before(self, ctx: TenantContext, endpoint_id: str) -> EndpointWithSecret:
        """The answer to a create replayed: the endpoint as it is now, with the secret it was created
        with, as long as that is its secret."""
        endpoint = self._endpoint(ctx, endpoint_id)
        if endpoint.previous_secret_expires_at is not None:
            raise SecretRotated(endpoint_id)
        secret = self._store.read(ctx, self.secret_name(ctx, endpoint_id), fresh=True)["current"]
        return EndpointWithSecret(**endpoint.model_dump(), secret=secret)

    def get(self, ctx: TenantContext, endpoint_id: str) -> WebhookEndpoint:
        """The endpoint (never its secret or the provider's token)."""
        ctx.require(Permission.READ_SETTINGS)
        return self._endpoint(ctx, endpoint_id)

    def _endpoint(self, ctx: TenantContext, endpoint_id: str) -> WebhookEndpoint:
        endpoint = (
            self._repo_for(ctx).get_endpoint(ctx, endpoint_id) if ENDPOINT_ID.match(endpoint_id) else None
        )
        if endpoint is None:
            raise EndpointNotFound(endpoint_id)
        return endpoint

    def list(self, ctx: TenantContext, page: PageRequest) -> Page[WebhookEndpoint]:
        ctx.require(Permission.READ_SETTINGS)
        return self._repo_for(ctx).list_endpoints(ctx, page)

    def update(self, ctx: TenantContext, endpoint_id: str, patch: EndpointPatch) -> WebhookEndpoint:
        ctx.require(Permission.ADMIN)
        endpoint = self._endpoint(ctx, endpoint_id)
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        if not changes:
            return endpoint
        updated = endpoint.model_copy(
            update={**changes, "version": endpoint.version + 1, "updated_at": self._clock.now()}
        )
        self._save(ctx, updated, endpoint.version)
        return updated

    def rotate(self, ctx: TenantContext, endpoint_id: str, request: RotateRequest) -> EndpointWithSecret:
        """A new secret; the previous one keeps verifying for `overlap_hours`."""
        ctx.require(Permission.ADMIN)
        endpoint = self._endpoint(ctx, endpoint_id)
        name = self.secret_name(ctx, endpoint_id)
        old = self._store.read(ctx, name, fresh=True)["current"]
        until = self._clock.now() + timedelta(hours=request.overlap_hours)
        secret = new_secret()
        kept = {k: v for k, v in self._store.read(ctx, name, fresh=True).items() if k.startswith("api_")}
        self._store.put(
            ctx, name, {**kept, "current": secret, "previous": old, "previous_expires_at": until.isoformat()}
        )
        updated = endpoint.model_copy(
            update={
                "version": endpoint.version + 1,
                "updated_at": self._clock.now(),
                "previous_secret_expires_at": until,
            }
        )
        self._save(ctx, updated, endpoint.version)
        return EndpointWithSecret(**updated.model_dump(), secret=secret)

    def delete(self, ctx: TenantContext, endpoint_id: str) -> None:
        ctx.require(Permission.ADMIN)
        self._endpoint(ctx, endpoint_id)
        self._repo_for(ctx).delete_endpoint(ctx, endpoint_id)
        self._store.delete(ctx, self.secret_name(ctx, endpoint_id))

    def deliveries(self, ctx: TenantContext, endpoint_id: str, page: PageRequest) -> Page[Delivery]:
        self.get(ctx, endpoint_id)
        return self._repo_for(ctx).deliveries(ctx, endpoint_id, page)

    def _save(self, ctx: TenantContext, endpoint: WebhookEndpoint, expected: int) -> None:
        try:
            self._repo_for(ctx).save_endpoint(ctx, endpoint, expected)
        except StaleVersion:
            raise PreconditionFailed("webhook endpoint") from None


class Intake:
    """Verifies a delivery (Standard Webhooks), records it once per webhook-id, queues it.

    The endpoint is looked up in `endpoints`, which needs no tenant credentials, so a made-up endpoint
    id costs no AssumeRole; the signing secret is read as the endpoint's tenant (only its role may),
    and the tenant's repository (`repository_for`) is reached only once the signature verifies."""

    def __init__(
        self,
        repository_for: Callable[[TenantContext], ProcurementRepository],
        endpoints: EndpointDirectory,
        store: SecretStore,
        queue: JobQueue,
        secret_prefix: str,
        clock: Clock | None = None,
    ) -> None:
        self._repo_for = repository_for
        self._endpoints = endpoints
        self._store = store
        self._queue = queue
        self._prefix = secret_prefix
        self._clock = clock or SystemClock()

    def receive(self, endpoint_id: str, headers: Mapping[str, str], body: str) -> Accepted:
        found = ENDPOINT_ID.match(endpoint_id)
        if found is None or not TENANT_ID_PATTERN.fullmatch(found["tenant"]):
            raise EndpointNotFound(endpoint_id)
        ctx = TenantContext.system(found["tenant"], "webhook-intake")
        endpoint = self._endpoints.get_endpoint(ctx, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            raise EndpointNotFound(endpoint_id)
        webhook_id = headers.get("webhook-id", "")
        if not WEBHOOK_ID.fullmatch(webhook_id):
            raise SignatureRejected("webhook-id is missing or not 1-255 visible characters")
        self._verify(ctx, f"{self._prefix}/{ctx.tenant_id}/{endpoint_id}", headers, body)
        repo = self._repo_for(ctx)
        now = self._clock.now()
        try:
            document = parse_object(body)
        except (MalformedInput, InvalidInput) as unreadable:
            # Authentic, but no worker could read it: recorded failed with the reason at once, not queued.
            delivery = Delivery(
                id=webhook_id,
                endpoint_id=endpoint_id,
                received_at=now,
                status=DeliveryStatus.FAILED,
                error=unreadable.detail,
                processed_at=now,
            )
        else:
            delivery = Delivery(
                id=webhook_id,
                endpoint_id=endpoint_id,
                received_at=now,
                event_type=_event_type(document),
                status=DeliveryStatus.RECEIVED,
            )
        earlier = repo.record_delivery(ctx, delivery, body)
        if earlier is not None and earlier.status is not DeliveryStatus.RECEIVED:
            return Accepted(delivery_id=earlier.id, status=earlier.status)  # a retry: the first answer
        if earlier is None and delivery.status is DeliveryStatus.FAILED:
            return Accepted(delivery_id=webhook_id, status=DeliveryStatus.FAILED)
        self._queue.send(
            {
                "job": "delivery",
                "tenant_id": ctx.tenant_id,
                "endpoint_id": endpoint_id,
                "delivery_id": webhook_id,
            }
        )
        queued = (earlier or delivery).model_copy(update={"status": DeliveryStatus.QUEUED})
        repo.update_delivery(ctx, queued)
        return Accepted(delivery_id=webhook_id, status=DeliveryStatus.QUEUED)

    def _verify(self, ctx: TenantContext, secret_name: str, headers: Mapping[str, str], body: str) -> None:
        from standardwebhooks import Webhook

        wanted = {k: headers.get(k, "") for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        for fresh in (False, True):  # a secret rotated a moment ago may not be in the cache yet
            stored = self._store.read(ctx, secret_name, fresh=fresh)
            candidates = [stored["current"]]
            expires = stored.get("previous_expires_at")
            if stored.get("previous") and expires and datetime.fromisoformat(expires) > self._clock.now():
                candidates.append(stored["previous"])
            for secret in candidates:
                try:
                    Webhook(secret).verify(body, wanted, json_parse=False)
                    return
                except Exception:  # noqa: S112 - any failure of one secret: try the next
                    continue
        raise SignatureRejected("the signature does not verify, or the timestamp is not within 5 minutes")


def _event_type(document: Mapping[str, Any]) -> str | None:
    kind = document.get("type")
    return kind[:64] if isinstance(kind, str) else None


class Processor:
    """Applies a queued delivery: merge it into its PO's state, then bring the register to that state."""

    def __init__(
        self,
        repository_for: Callable[[TenantContext], ProcurementRepository],
        assets: AssetService,
        licenses: LicenseService,
        store: SecretStore | None = None,
        secret_prefix: str = "",
        precoro_url: str = precoro.API_URL,
        requests: RequestFulfilment | None = None,
        clock: Clock | None = None,
        max_attempts: int = 5,
    ) -> None:
        self._requests = requests
        self._repo_for = repository_for
        self._assets = assets
        self._licenses = licenses
        self._store = store
        self._prefix = secret_prefix
        self._precoro_url = precoro_url
        self._clock = clock or SystemClock()
        self._max_attempts = max_attempts

    def process(self, tenant_id: str, endpoint_id: str, delivery_id: str) -> Delivery | None:
        ctx = TenantContext.system(tenant_id, "procurement")
        repo = self._repo_for(ctx)
        stored = repo.delivery(ctx, endpoint_id, delivery_id)
        if stored is None:
            return None
        delivery, body = stored
        if delivery.status in (DeliveryStatus.PROCESSED, DeliveryStatus.FAILED):
            return delivery  # processed before: a repeated message has no second effect
        try:
            events = self._events(ctx, endpoint_id, body)
        except ValidationError as error:
            return self._finish(ctx, delivery, DeliveryStatus.FAILED, error=_reasons(error))
        except ValueError as error:
            return self._finish(ctx, delivery, DeliveryStatus.FAILED, error=str(error))
        effects: list[str] = []
        for n, event in enumerate(events):
            key = delivery_id if len(events) == 1 else f"{delivery_id}#{n}"
            po = self._merge(ctx, repo, event, key)
        if not events:
            return self._finish(ctx, delivery, DeliveryStatus.PROCESSED, effects=["nothing to apply"])
        ref = f"PO {po.po_number} (delivery {delivery_id})"
        try:
            work = plan(po, tenant_id)
            for unit in work.units:
                effects += self._apply_unit(ctx, po, unit, ref)
            for entitlement in work.entitlements:
                effects += self._apply_entitlement(ctx, po, entitlement, ref)
            effects += self._fulfil_requests(ctx, work)
        except (DomainError, ValueError) as error:
            # A PO the register cannot follow (e.g. a serial number taken by another asset).
            return self._finish(ctx, delivery, DeliveryStatus.FAILED, error=str(error), effects=effects)
        return self._finish(ctx, delivery, DeliveryStatus.PROCESSED, effects=effects)

    def _events(self, ctx: TenantContext, endpoint_id: str, body: str) -> list[Any]:
        """The purchasing events of a delivery: its own, or (Precoro) those of the purchase order it
        names, fetched from the provider. ProviderError propagates: the message is retried."""
        endpoint = self._repo_for(ctx).get_endpoint(ctx, endpoint_id)
        if endpoint is None or endpoint.provider is not Provider.PRECORO:
            return [EVENT.validate_json(body)]
        notice = precoro.Notification.model_validate_json(body)
        if notice.type != precoro.PURCHASE_ORDER:
            return []
        assert self._store is not None
        stored = self._store.read(ctx, f"{self._prefix}/{ctx.tenant_id}/{endpoint_id}")
        client = precoro.PrecoroClient(stored["api_token"], stored["api_email"], self._precoro_url)
        return list(precoro.events_for(client.purchase_order(notice.idn or notice.id)))

    def _merge(
        self, ctx: TenantContext, repo: ProcurementRepository, event: Any, delivery_id: str
    ) -> PurchaseOrder:
        for _ in range(self._max_attempts):
            current, version = repo.purchase_order(ctx, po_number_of(event))
            merged = merge(current, event, delivery_id)
            if current is not None and merged == current:
                return merged
            try:
                repo.save_purchase_order(ctx, merged, version)
                return merged
            except StaleVersion:
                continue
        raise RuntimeError("the purchase order kept changing; the delivery will be retried")

    def _apply_unit(self, ctx: TenantContext, po: PurchaseOrder, unit: UnitPlan, ref: str) -> list[str]:
        line = unit.line
        reason = f"{ref}, line {line.line_number}, unit {unit.index + 1}"
        asset = self._assets.repository.get(ctx, unit.asset_id)
        effects: list[str] = []
        if asset is None:
            if unit.state == "cancelled":
                return []
            data = AssetCreate(
                name=line.description,
                kind=Kind.HARDWARE,
                status="in_stock" if unit.state == "in_stock" else "ordered",
                serial_number=unit.serial_number,
                manufacturer=line.manufacturer,
                model=line.manufacturer_part,
                vendor=po.supplier,
                po_number=po.po_number,
                cost=unit.cost,
                custom_fields={"po_line": line.line_number, **({"sku": line.sku} if line.sku else {})},
            )
            self._assets.register_asset(ctx, data, asset_id=unit.asset_id, reason=reason)
            return [f"created asset {unit.asset_id} ({data.status})"]
        patch: dict[str, Any] = {}
        if unit.serial_number and asset.serial_number != unit.serial_number:
            patch["serial_number"] = unit.serial_number
        if unit.cost is not None and asset.cost != unit.cost:
            patch["cost"] = unit.cost
        if patch:
            self._assets.update_asset(ctx, asset.id, AssetPatch(**patch), "*", reason=reason)
            effects.append(f"updated asset {asset.id} ({', '.join(sorted(patch))})")
        target = {"in_stock": Status.IN_STOCK, "cancelled": Status.CANCELLED}.get(unit.state)
        if target is not None and asset.status in (Status.PLANNED, Status.ORDERED):
            try:
                self._assets.transition_asset(ctx, asset.id, TransitionRequest(to=target, reason=reason))
                effects.append(f"asset {asset.id} -> {target}")
            except (IllegalTransition, InvalidState):
                pass  # moved on by someone since; the register keeps what people did
        return effects

    def _fulfil_requests(self, ctx: TenantContext, work: Any) -> list[str]:
        """Hand what arrived for a line that names an asset request to that request."""
        if self._requests is None:
            return []
        effects: list[str] = []
        received: dict[str, list[str]] = {}
        for unit in work.units:
            if unit.line.request_id and unit.state == "in_stock":
                received.setdefault(unit.line.request_id, []).append(unit.asset_id)
        for request_id, asset_ids in received.items():
            effects += self._hand_over(ctx, request_id, asset_ids=asset_ids)
        for entitlement in work.entitlements:
            if entitlement.line.request_id and entitlement.quantity > 0:
                effects += self._hand_over(
                    ctx, entitlement.line.request_id, license_id=entitlement.license_id
                )
        return effects

    def _hand_over(self, ctx: TenantContext, request_id: str, **units: Any) -> list[str]:
        assert self._requests is not None
        try:
            self._requests.on_procurement_received(ctx, request_id, **units)
        except (NotFound, InvalidState) as error:
            return [f"request {request_id} not fulfilled: {error.detail}"]
        return [f"request {request_id} given what arrived"]

    def _apply_entitlement(
        self, ctx: TenantContext, po: PurchaseOrder, plan_: EntitlementPlan, ref: str
    ) -> list[str]:
        line = plan_.line
        existing = self._licenses.repository_for(ctx).get_license(ctx, plan_.license_id)
        metric = Metric.SUBSCRIPTION if line.category is Category.SAAS else Metric.PER_USER
        if existing is None:
            if plan_.quantity == 0:
                return []
            data = LicenseCreate(
                product=line.description,
                vendor=line.manufacturer or po.supplier,
                metric=metric,
                quantity=plan_.quantity,
                unit_cost=plan_.unit_cost,
                start_date=line.service_start,
                end_date=line.service_end,
                po_number=po.po_number,
                notes=f"{ref}, line {line.line_number}",
                allow_overallocation=True,
            )
            self._licenses.create_license(
                ctx, data, license_id=plan_.license_id, reason=f"{ref}, line {line.line_number}"
            )
            return [f"created license {plan_.license_id} ({plan_.quantity})"]
        changes: dict[str, Any] = {}
        if existing.quantity != plan_.quantity:
            changes["quantity"] = plan_.quantity
        if plan_.unit_cost is not None and existing.unit_cost != plan_.unit_cost:
            changes["unit_cost"] = plan_.unit_cost
        if line.service_end is not None and existing.end_date != line.service_end:
            changes["end_date"] = line.service_end
        if not changes:
            return []
        self._licenses.update_license(
            ctx, existing.id, LicensePatch(**changes), "*", reason=f"{ref}, line {line.line_number}"
        )
        return [f"updated license {existing.id} ({', '.join(sorted(changes))})"]

    def _finish(
        self,
        ctx: TenantContext,
        delivery: Delivery,
        status: DeliveryStatus,
        error: str | None = None,
        effects: list[str] | None = None,
    ) -> Delivery:
        done = delivery.model_copy(
            update={
                "status": status,
                "error": error,
                "processed_at": self._clock.now(),
                "effects": effects or [],
            }
        )
        self._repo_for(ctx).update_delivery(ctx, done)
        return done


def _reasons(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:10]:
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(parts)[:1000]
