"""The billing face on the resolver path: what a partner sees of a managed tenant without
partner access. ``BILLING_FACE`` (``auth/scope.py``) names the fields that show; every other
field of the tenant type answers as it would for no tenant at all."""

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_snake_case

from tenantry.api.info import Info
from tenantry.api.relay import UNKNOWN_ID
from tenantry.auth.scope import BILLING_FACE
from tenantry.tenants.models import Tenant


class BillingFaceOnly(FieldExtension):
    """Put on every Tenant field outside ``BILLING_FACE``: where the caller sees only the
    tenant's billing face, the field is resolved for no tenant at all (no id, no
    workspace), so it answers null, false or empty, whatever it is."""

    def __init__(self, to_gql: Callable[[Tenant], Any]) -> None:
        super().__init__()
        self.to_gql = to_gql

    def apply(self, field: StrawberryField) -> None:
        self.field = field
        self.field_name = _face_name(field)

    def _hidden(self, source: Any, info: Info) -> bool:
        return not info.context.actor.scope.sees_field_of(source._row, self.field_name)

    def _resolve_for_nobody(self, source: Any, info: Info, kwargs: dict[str, Any]) -> Any:
        # Strawberry has bound ``self`` to the real tenant before extensions run, so the
        # resolver is called here with the stand-in instead.
        nobody = self.to_gql(_nobody(source._row))
        resolver = self.field.base_resolver
        if resolver is None:
            return getattr(nobody, self.field.python_name)
        if resolver.info_parameter is not None:
            kwargs = {**kwargs, resolver.info_parameter.name: info}
        call: Callable[..., Any] = resolver
        return call(nobody, **kwargs) if resolver.self_parameter is not None else call(**kwargs)

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        if self._hidden(source, info):
            return self._resolve_for_nobody(source, info, kwargs)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        if self._hidden(source, info):
            return await self._resolve_for_nobody(source, info, kwargs)
        return await next_(source, info, **kwargs)


def _nobody(row: Tenant) -> Tenant:
    """A tenant with no id (every lookup by it finds nothing: ids start at 1) and no
    workspace settings; it keeps what the face shows anyway (kind, currency)."""
    return Tenant(
        id=UNKNOWN_ID,
        kind=row.kind,
        currency=row.currency,
        path=[],
        scope_path=[],
        subscription_types=[],
        inherit_sponsor_operators=False,
        is_partner=False,
        partner_access=False,
    )


def _face_name(field: StrawberryField) -> str:
    """A field's name as ``BILLING_FACE`` spells it: its GraphQL name in snake case."""
    return to_snake_case(field.graphql_name or field.python_name)


def hide_outside_billing_face(tenant_type: type, to_gql: Callable[[Tenant], Any]) -> None:
    """Put ``BillingFaceOnly`` on every field of ``tenant_type`` outside ``BILLING_FACE``, so
    a field added later is hidden unless it is named there."""
    for field in get_object_definition(tenant_type, strict=True).fields:
        if _face_name(field) not in BILLING_FACE:
            field.extensions.append(BillingFaceOnly(to_gql))
