"""Roles, permissions and the principal that acts in a request or job."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    HQ_OPERATOR = "hq_operator"
    STORE_MANAGER = "store_manager"
    STAFF = "staff"
    ANALYST = "analyst"
    AUDITOR = "auditor"


STORE_ROLES = frozenset({Role.STORE_MANAGER, Role.STAFF})


class Permission(StrEnum):
    CUSTOMERS_READ = "customers.read"
    CUSTOMERS_WRITE = "customers.write"
    CUSTOMERS_REVEAL = "customers.reveal"
    CUSTOMERS_EXPORT = "customers.export"
    STORES_READ = "stores.read"
    STORES_MANAGE = "stores.manage"
    USERS_MANAGE = "users.manage"
    API_KEYS_MANAGE = "api_keys.manage"
    AUDIT_READ = "audit.read"
    ANALYTICS_READ = "analytics.read"
    CHANNELS_MANAGE = "channels.manage"
    """Channels and their spend (HQ)."""
    CHANNEL_CODES_MANAGE = "channel_codes.manage"
    """Channel codes for a store (HQ, or the store's manager for their own store)."""
    OFFERS_MANAGE = "offers.manage"
    """Coupon templates, top-up plans, tiers, voids, regrading, reconciliation (HQ)."""
    OFFERS_OPERATE = "offers.operate"
    """Claims, redemptions, top-ups, charges, refunds and points for visible customers."""


_ALL = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _ALL,
    Role.HQ_OPERATOR: _ALL - {Permission.USERS_MANAGE, Permission.API_KEYS_MANAGE},
    Role.STORE_MANAGER: frozenset(
        {
            Permission.CUSTOMERS_READ,
            Permission.CUSTOMERS_WRITE,
            Permission.CUSTOMERS_REVEAL,
            Permission.CUSTOMERS_EXPORT,
            Permission.STORES_READ,
            Permission.ANALYTICS_READ,
            Permission.CHANNEL_CODES_MANAGE,
            Permission.OFFERS_OPERATE,
        }
    ),
    Role.STAFF: frozenset(
        {
            Permission.CUSTOMERS_READ,
            Permission.CUSTOMERS_WRITE,
            Permission.CUSTOMERS_REVEAL,
            Permission.STORES_READ,
            Permission.OFFERS_OPERATE,
        }
    ),
    Role.ANALYST: frozenset(
        {Permission.CUSTOMERS_READ, Permission.STORES_READ, Permission.ANALYTICS_READ}
    ),
    Role.AUDITOR: frozenset(
        {Permission.CUSTOMERS_READ, Permission.STORES_READ, Permission.AUDIT_READ}
    ),
}


class PersonalDataView(StrEnum):
    """How much of a customer's personal data a role sees by default."""

    MASKED = "masked"  # 138****1234, 张*; may reveal with a reason if the role allows
    PSEUDONYMOUS = "pseudonymous"  # only a pseudonymous id: no personal data at all


class ActorKind(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"


@dataclass(frozen=True)
class Principal:
    """The actor of a request or job, with its role and (for store roles) its store."""

    kind: ActorKind
    id: int | None
    name: str
    role: Role
    store_id: int | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def is_store_scoped(self) -> bool:
        return self.role in STORE_ROLES

    @property
    def personal_data_view(self) -> PersonalDataView:
        if self.role is Role.ANALYST:
            return PersonalDataView.PSEUDONYMOUS
        return PersonalDataView.MASKED

    @classmethod
    def system(cls, name: str = "system") -> Principal:
        return cls(kind=ActorKind.SYSTEM, id=None, name=name, role=Role.OWNER)
