"""Who is calling: the tenant and roles taken from verified token claims, never from the request."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from itam.errors import Forbidden

TENANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"
    AUDITOR = "auditor"


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"
    READ_HISTORY = "read_history"
    RUN_AUDIT = "run_audit"
    ADMIN = "admin"  # configuration: webhook endpoints, approval policy, connectors
    READ_SETTINGS = "read_settings"  # reading that configuration (never a secret)


ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.EDITOR: frozenset({Permission.READ, Permission.WRITE, Permission.RUN_AUDIT}),
    Role.VIEWER: frozenset({Permission.READ}),
    # Auditors change nothing, but they run license audits and read the configuration too.
    Role.AUDITOR: frozenset(
        {Permission.READ, Permission.READ_HISTORY, Permission.RUN_AUDIT, Permission.READ_SETTINGS}
    ),
}


@dataclass(frozen=True, slots=True)
class TenantContext:
    """The verified caller. The data layer takes one of these for every read and write."""

    tenant_id: str
    user_id: str
    username: str
    roles: frozenset[Role]

    def __post_init__(self) -> None:
        if not TENANT_ID_PATTERN.fullmatch(self.tenant_id):
            raise ValueError("tenant id must match " + TENANT_ID_PATTERN.pattern)

    @classmethod
    def system(cls, tenant_id: str, who: str, username: str | None = None) -> TenantContext:
        """The context a worker acts in for a tenant: admin `system:<who>`, named `username` or `who`."""
        return cls(
            tenant_id=tenant_id,
            user_id=f"system:{who}",
            username=username or who,
            roles=frozenset({Role.ADMIN}),
        )

    @property
    def key_prefix(self) -> str:
        """Prefix of every key of this tenant; the closing delimiter keeps `acme` from matching `acme2`."""
        return f"T#{self.tenant_id}#"

    @property
    def permissions(self) -> frozenset[Permission]:
        granted: set[Permission] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS[role]
        return frozenset(granted)

    def require(self, permission: Permission) -> None:
        """Raise Forbidden unless one of the caller's roles grants `permission`."""
        if permission not in self.permissions:
            held = ", ".join(sorted(self.roles)) or "no role"
            raise Forbidden(f"this operation needs the {permission} permission; the caller has {held}")

    @property
    def actor(self) -> dict[str, str]:
        return {"user_id": self.user_id, "username": self.username}
