"""Domain enums exposed to GraphQL under their own names."""

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry
from strawberry.types.enum import has_enum_definition

from tenantry.auth.models import Role
from tenantry.partners.models import PlanKind
from tenantry.tenants.models import SubscriptionType, TenantKind

E = TypeVar("E", bound=Enum)


def expose_enum(enum: type[E], description: str, values: Mapping[E, str]) -> None:
    """``strawberry.enum`` for a domain enum, with a description for each of its values.

    ``strawberry.enum_value`` would have to sit inside the domain class (and a ``StrEnum``
    member cannot hold one), so the descriptions go on the values of the definition
    ``strawberry.enum`` makes; a value left out raises ``KeyError`` at import."""
    exposed: object = strawberry.enum(enum, description=description)
    assert has_enum_definition(exposed)
    for value in exposed.__strawberry_definition__.values:
        value.description = values[enum(value.value)]


expose_enum(
    Role,
    "ADMIN may change things; VIEWER only reads.",
    {
        Role.ADMIN: "Reads, and may run the mutations the tenant's place in the tree allows.",
        Role.VIEWER: "Reads only: every mutation but requestUsageReport (a report only reads) "
        "answers FORBIDDEN.",
    },
)
expose_enum(
    TenantKind,
    "How a tenant hangs under its parent.",
    {
        TenantKind.ROOT: "The platform operator's tenant: the one tenant without a parent.",
        TenantKind.SUB_TENANT: "Created by an admin of its parent; any depth.",
        TenantKind.MANAGED: "Created under a partner, whose invoice bills its plans; it copies "
        "the partner's currency and billing entity (locked).",
    },
)
expose_enum(
    SubscriptionType,
    "A kind of customer subscription a tenant offers.",
    {
        SubscriptionType.INTEGRATED: "Integrated; every tenant offers it (required).",
        SubscriptionType.STANDALONE: "Standalone; offered when a tenant lists it.",
    },
)
expose_enum(
    PlanKind,
    "TENANT: the workspace tier; SUPPORT: the support tier.",
    {
        PlanKind.TENANT: "The managed tenant's workspace tier.",
        PlanKind.SUPPORT: "The managed tenant's support tier.",
    },
)

__all__ = ["PlanKind", "Role", "SubscriptionType", "TenantKind"]
