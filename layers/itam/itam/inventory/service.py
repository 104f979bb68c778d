"""Inventory connectors (admins configure them) and their sync runs (the worker executes them).

A run is one SQS message: queued by `POST /v1/connectors/{id}/sync` (its run record is written
first, `queued`) or by the hourly fan-out (the worker writes the record, with an id derived from
the connector and the hour, so a redelivered message is the same run). Runs of one connector never
overlap: a run holds the connector's lease while it works, and a run that finds the lease held by
another live run ends `skipped`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from itam.clock import ID_PATTERN, SystemClock, TimeOrderedIds
from itam.errors import (
    ConcurrentModification,
    InvalidInput,
    KeyAlreadyUsed,
    PreconditionFailed,
    StaleVersion,
    WriteConflict,
)
from itam.etags import etag_matches
from itam.idempotency import claim_of, create_once
from itam.inventory.errors import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorNotFound,
    RunNotFound,
    SyncInProgress,
)
from itam.inventory.models import (
    FINISHED,
    Connector,
    ConnectorCreate,
    ConnectorPatch,
    ConnectorType,
    RunStatus,
    RunSummary,
    SyncJob,
    SyncRun,
)
from itam.inventory.ports import CollectorFactory, ConnectorRepository, SettingsValidator
from itam.inventory.reconcile import RunCounts
from itam.inventory.sync import Reconciler, RunPlan
from itam.pagination import Page, PageRequest
from itam.ports import Clock, EventPublisher, IdGenerator, JobQueue, SecretStore
from itam.tenancy import Permission, TenantContext

logger = logging.getLogger(__name__)

# A run holds its connector's lease this long (the worker's timeout is 15 minutes).
LEASE = timedelta(minutes=20)
SYNC_COMPLETED = "inventory.sync_completed"


def scheduled_run_id(connector_id: str, at: datetime) -> str:
    """The id of the scheduled run of `connector_id` in the hour of `at`."""
    return hashlib.sha256(f"{connector_id}|{at:%Y-%m-%dT%H}".encode()).hexdigest()[:32]


def scheduled_job(tenant_id: str, connector_id: str, at: datetime) -> dict[str, Any]:
    """The job message of the connector's scheduled run at `at`; its run id is fixed for the hour."""
    job = SyncJob(tenant_id=tenant_id, connector_id=connector_id, trigger="schedule", scheduled_at=at)
    return job.model_dump(mode="json")


class ConnectorService:
    """Connectors of a tenant: admins change them, admins and auditors read them. Credentials go to the
    secret store and never come back."""

    def __init__(
        self,
        repository_for: Callable[[TenantContext], ConnectorRepository],
        store: SecretStore,
        validate: SettingsValidator,
        queue: JobQueue,
        secret_prefix: str,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
    ) -> None:
        self._repo_for = repository_for
        self._store = store
        self._validate = validate
        self._queue = queue
        self._prefix = secret_prefix
        self._clock = clock or SystemClock()
        self._ids = ids or TimeOrderedIds()

    def secret_name(self, ctx: TenantContext, connector_id: str) -> str:
        return f"{self._prefix}/{ctx.tenant_id}/{connector_id}"

    def create(
        self, ctx: TenantContext, data: ConnectorCreate, idempotency_key: str | None = None
    ) -> Connector:
        """Store a connector (its credentials in the secret store). With an Idempotency-Key, the same
        request sent again gets the connector the first one created, as it is now, and stores nothing."""
        ctx.require(Permission.ADMIN)
        settings, credentials = self._checked(data.type, data.settings, data.credentials)
        repo = self._repo_for(ctx)
        now = self._clock.now()
        claim = claim_of(idempotency_key, f"connector|{data.model_dump_json()}", now)

        def create() -> Connector:
            connector = self._new(ctx, data, settings, credentials is not None, now)
            name = self.secret_name(ctx, connector.id)
            if credentials is not None:
                self._store.create(ctx, name, credentials)
            try:
                repo.save_connector(ctx, connector, None, claim)
            except (KeyAlreadyUsed, WriteConflict):
                if credentials is not None:
                    self._store.delete(ctx, name)  # nothing was written: the secret would be nobody's
                raise
            return connector

        return create_once(ctx, repo, claim, now, create, lambda first: self.get(ctx, first), look_first=True)

    def _new(
        self,
        ctx: TenantContext,
        data: ConnectorCreate,
        settings: dict[str, Any],
        credentials_set: bool,
        now: datetime,
    ) -> Connector:
        external_id = None
        if data.type is ConnectorType.AWS:
            proposed = f"itam-{ctx.tenant_id}-{secrets.token_hex(16)}"
            external_id = self._repo_for(ctx).external_id(ctx, proposed)
        return Connector(
            id=self._ids.new_id(),
            type=data.type,
            name=data.name,
            enabled=data.enabled,
            settings=settings,
            credentials_set=credentials_set,
            external_id=external_id,
            retire_after=data.retire_after,
            reclaim_after_days=data.reclaim_after_days,
            version=1,
            created_at=now,
            created_by=ctx.user_id,
            updated_at=now,
        )

    def get(self, ctx: TenantContext, connector_id: str) -> Connector:
        """The connector, its settings and whether credentials are set (never the credentials)."""
        ctx.require(Permission.READ_SETTINGS)
        return self._connector(ctx, connector_id)

    def _connector(self, ctx: TenantContext, connector_id: str) -> Connector:
        connector = (
            self._repo_for(ctx).get_connector(ctx, connector_id)
            if ID_PATTERN.fullmatch(connector_id)
            else None
        )
        if connector is None:
            raise ConnectorNotFound(connector_id)
        return connector

    def list(self, ctx: TenantContext, page: PageRequest) -> Page[Connector]:
        ctx.require(Permission.READ_SETTINGS)
        return self._repo_for(ctx).list_connectors(ctx, page)

    def update(
        self, ctx: TenantContext, connector_id: str, patch: ConnectorPatch, if_match: str | None = None
    ) -> Connector:
        ctx.require(Permission.ADMIN)
        connector = self._connector(ctx, connector_id)
        if if_match is not None and not etag_matches(if_match, connector.version):
            raise PreconditionFailed()
        changes = patch.model_dump(exclude_unset=True, exclude_none=True)
        credentials = changes.pop("credentials", None)
        if "settings" in changes or credentials is not None:
            settings, credentials = self._checked(
                connector.type, changes.get("settings", connector.settings), credentials, partial=True
            )
            changes["settings"] = settings
        if not changes and credentials is None:
            return connector
        if credentials is not None:
            name = self.secret_name(ctx, connector_id)
            if connector.credentials_set:
                self._store.put(ctx, name, credentials)
            else:
                self._store.create(ctx, name, credentials)
            changes["credentials_set"] = True
        updated = connector.model_copy(
            update={**changes, "version": connector.version + 1, "updated_at": self._clock.now()}
        )
        try:
            self._repo_for(ctx).save_connector(ctx, updated, connector.version)
        except StaleVersion:
            raise PreconditionFailed() from None
        return updated

    def delete(self, ctx: TenantContext, connector_id: str) -> None:
        """Remove the connector and its secret. The assets it found stay in the register."""
        ctx.require(Permission.ADMIN)
        connector = self._connector(ctx, connector_id)
        self._repo_for(ctx).delete_connector(ctx, connector_id)
        if connector.credentials_set:
            self._store.delete(ctx, self.secret_name(ctx, connector_id))

    def trigger(self, ctx: TenantContext, connector_id: str) -> SyncRun:
        """Queue a run now (202 with its id). While the connector's last run is queued or running,
        and younger than a lease, another one is refused (409)."""
        ctx.require(Permission.ADMIN)
        connector = self._connector(ctx, connector_id)
        repo = self._repo_for(ctx)
        run = SyncRun(
            id=self._ids.new_id(),
            connector_id=connector.id,
            connector_type=connector.type,
            trigger="manual",
            status=RunStatus.QUEUED,
            queued_at=self._clock.now(),
            requested_by=ctx.user_id,
        )
        for _ in range(5):
            self._refuse_if_running(ctx, connector)
            summary = RunSummary(id=run.id, status=run.status)
            try:
                repo.save_connector(
                    ctx,
                    connector.model_copy(update={"last_run": summary, "version": connector.version + 1}),
                    connector.version,
                )
            except StaleVersion:
                connector = self._connector(ctx, connector_id)
                continue
            break
        else:
            raise ConcurrentModification("the connector kept changing; retry")
        repo.save_run(ctx, run, create=True)
        job = SyncJob(tenant_id=ctx.tenant_id, connector_id=connector.id, trigger="manual", run_id=run.id)
        self._queue.send(job.model_dump(mode="json"))
        return run

    def _refuse_if_running(self, ctx: TenantContext, connector: Connector) -> None:
        last = connector.last_run
        if last is None or last.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return
        run = self._repo_for(ctx).get_run(ctx, last.id)
        if run is None or run.status in FINISHED:
            return
        if self._clock.now() - (run.started_at or run.queued_at) < LEASE:
            raise SyncInProgress(last.id)

    def get_run(self, ctx: TenantContext, run_id: str) -> SyncRun:
        ctx.require(Permission.READ_SETTINGS)
        run = self._repo_for(ctx).get_run(ctx, run_id) if ID_PATTERN.fullmatch(run_id) else None
        if run is None:
            raise RunNotFound(run_id)
        return run

    def runs(self, ctx: TenantContext, connector_id: str, page: PageRequest) -> Page[SyncRun]:
        self.get(ctx, connector_id)
        return self._repo_for(ctx).list_runs(ctx, connector_id, page)

    def _checked(
        self,
        type_: ConnectorType,
        settings: Mapping[str, Any],
        credentials: Mapping[str, Any] | None,
        partial: bool = False,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        checked, secret = self._validate(type_, settings, credentials)
        if type_ is ConnectorType.AWS and credentials is not None:
            raise InvalidInput(
                "an aws connector takes no credentials: it assumes the role in settings", "credentials"
            )
        if type_ is not ConnectorType.AWS and secret is None and not partial:
            raise InvalidInput(f"a {type_.value} connector needs credentials", "credentials")
        return checked, secret


class SyncRunner:
    """Executes one queued run: lease, collect, reconcile, record, publish."""

    def __init__(
        self,
        repository_for: Callable[[TenantContext], ConnectorRepository],
        store: SecretStore,
        collectors: CollectorFactory,
        reconciler_for: Callable[[TenantContext], Reconciler],
        publisher: EventPublisher,
        secret_prefix: str,
        clock: Clock | None = None,
    ) -> None:
        self._repo_for = repository_for
        self._store = store
        self._collectors = collectors
        self._reconciler_for = reconciler_for
        self._publisher = publisher
        self._prefix = secret_prefix
        self._clock = clock or SystemClock()

    def execute(self, job: SyncJob, last_attempt: bool = True) -> SyncRun | None:
        """Run the job. Returns the finished run, or None when there is nothing to run (the
        connector is gone, or disabled and the job is a scheduled one). Errors of the provider end
        the run `failed`; anything else is raised for the queue to retry (recorded as failed on
        the last attempt)."""
        ctx = TenantContext.system(job.tenant_id, "inventory", "inventory sync")
        repo = self._repo_for(ctx)
        connector = repo.get_connector(ctx, job.connector_id)
        if connector is None:
            queued = repo.get_run(ctx, job.run_id) if job.run_id else None
            if queued is not None and queued.status not in FINISHED:
                closed = {"status": RunStatus.SKIPPED, "finished_at": self._clock.now(), "failure": "deleted"}
                repo.save_run(ctx, queued.model_copy(update=closed))
            return None
        if job.trigger == "schedule" and not connector.enabled:
            return None
        now = self._clock.now()
        run_id = job.run_id or scheduled_run_id(connector.id, job.scheduled_at or now)
        run = repo.get_run(ctx, run_id)
        if run is None:
            run = SyncRun(
                id=run_id,
                connector_id=connector.id,
                connector_type=connector.type,
                trigger=job.trigger,
                status=RunStatus.QUEUED,
                queued_at=now,
            )
            repo.save_run(ctx, run, create=True)
            run = repo.get_run(ctx, run_id) or run
        if run.status in FINISHED:
            return run  # a delivery of a run that is over
        holder = repo.acquire_lease(ctx, connector.id, run.id, now, now + LEASE)
        if holder is not None:
            return self._finish(
                ctx,
                connector,
                run,
                RunStatus.SKIPPED,
                failure=f"run {holder} of this connector was in progress",
            )
        try:
            return self._execute(ctx, connector, run, last_attempt)
        finally:
            repo.release_lease(ctx, connector.id, run.id)

    def _execute(self, ctx: TenantContext, connector: Connector, run: SyncRun, last_attempt: bool) -> SyncRun:
        repo = self._repo_for(ctx)
        started = self._clock.now()
        previous = connector.last_run
        if previous is not None and previous.id != run.id and previous.status is RunStatus.RUNNING:
            stale = repo.get_run(ctx, previous.id)
            if stale is not None and stale.status is RunStatus.RUNNING:  # its worker stopped midway
                repo.save_run(
                    ctx,
                    stale.model_copy(
                        update={"status": RunStatus.FAILED, "finished_at": started, "failure": "interrupted"}
                    ),
                )
        run = run.model_copy(update={"status": RunStatus.RUNNING, "started_at": started})
        repo.save_run(ctx, run)
        connector = self._touch(ctx, connector, {"last_run": RunSummary(id=run.id, status=run.status)})
        plan = RunPlan(
            connector_id=connector.id,
            connector_name=connector.name,
            provider=connector.type.value,
            run_id=run.id,
            retire_after=connector.retire_after,
            last_completed_at=connector.last_completed_at,
        )
        try:
            credentials = (
                self._store.read(ctx, f"{self._prefix}/{ctx.tenant_id}/{connector.id}", fresh=True)
                if connector.credentials_set
                else None
            )
            collector = self._collectors(connector, credentials)
            outcome = self._reconciler_for(ctx).run(ctx, plan, collector, started)
        except ConnectorAuthError as error:
            return self._finish(ctx, connector, run, RunStatus.FAILED, failure=_auth_failure(error))
        except (ConnectorError, InvalidInput) as error:
            return self._finish(ctx, connector, run, RunStatus.FAILED, failure=error.detail)
        except Exception:
            logger.exception("sync run stopped", extra={"run_id": run.id})
            if last_attempt:
                self._finish(
                    ctx, connector, run, RunStatus.FAILED, failure="the run stopped on an internal error"
                )
            else:
                repo.save_run(ctx, run.model_copy(update={"status": RunStatus.QUEUED}))
            raise
        status = RunStatus.PARTIAL if outcome.errors_total else RunStatus.SUCCEEDED
        return self._finish(
            ctx,
            connector,
            run,
            status,
            counts=outcome.counts,
            errors=outcome.errors,
            errors_total=outcome.errors_total,
            completed_at=started,
        )

    def _finish(
        self,
        ctx: TenantContext,
        connector: Connector,
        run: SyncRun,
        status: RunStatus,
        *,
        failure: str | None = None,
        counts: RunCounts | None = None,
        errors: Sequence[Any] = (),
        errors_total: int = 0,
        completed_at: datetime | None = None,
    ) -> SyncRun:
        finished = self._clock.now()
        run = run.model_copy(
            update={
                "status": status,
                "finished_at": finished,
                "counts": (counts or RunCounts()).as_dict(),
                "errors": list(errors),
                "errors_total": errors_total,
                "failure": failure,
            }
        )
        self._repo_for(ctx).save_run(ctx, run)
        update: dict[str, Any] = {"last_run": RunSummary(id=run.id, status=status, finished_at=finished)}
        if completed_at is not None:
            update["last_completed_at"] = completed_at
        if status is not RunStatus.SKIPPED:
            self._touch(ctx, connector, update)
            self._publisher.publish(SYNC_COMPLETED, [_completed_event(ctx, run)])
        return run

    def _touch(self, ctx: TenantContext, connector: Connector, update: Mapping[str, Any]) -> Connector:
        """Record run facts on the connector, re-reading it when an admin changed it meanwhile (a
        connector deleted meanwhile is left deleted)."""
        repo = self._repo_for(ctx)
        for _ in range(5):
            stored = repo.get_connector(ctx, connector.id)
            if stored is None:
                return connector.model_copy(update=dict(update))
            connector = stored
            updated = connector.model_copy(update={**update, "version": connector.version + 1})
            try:
                repo.save_connector(ctx, updated, connector.version)
            except StaleVersion:
                continue
            return updated
        raise StaleVersion()


def _auth_failure(error: ConnectorAuthError) -> str:
    said = error.provider_message.strip()
    return f"{error.detail}: {said}" if said and said not in error.detail else error.detail


def _completed_event(ctx: TenantContext, run: SyncRun) -> dict[str, Any]:
    return {
        "tenant_id": ctx.tenant_id,
        "connector_id": run.connector_id,
        "connector_type": run.connector_type.value,
        "run_id": run.id,
        "trigger": run.trigger,
        "status": run.status.value,
        "counts": run.counts,
        "errors_total": run.errors_total,
        "failure": run.failure,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
