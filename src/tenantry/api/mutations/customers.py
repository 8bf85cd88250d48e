"""Customer and endpoint mutations."""

import strawberry

from tenantry.api.errors import UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import mutate
from tenantry.api.relay import decode_id, decode_optional_id
from tenantry.api.types.customer import CustomerType, EndpointType, to_gql_customer, to_gql_endpoint
from tenantry.api.types.enums import SubscriptionType
from tenantry.customers import service
from tenantry.customers.service import NewCustomer, NewEndpoint


@strawberry.input
class CreateCustomerInput:
    tenant_id: strawberry.ID
    name: str
    subscription_type: SubscriptionType
    tariff_id: strawberry.ID | None = strawberry.field(
        default=None, description="Left out: the tenant's default customer tariff."
    )


@strawberry.input
class CreateEndpointInput:
    customer_id: strawberry.ID
    name: str
    iccid: str
    sponsor_operator_id: strawberry.ID


@strawberry.type
class CustomerPayload:
    customer: CustomerType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EndpointPayload:
    endpoint: EndpointType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(description="Create a customer of a tenant, with its own account.")
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> CustomerPayload:
        command = NewCustomer(
            tenant_id=decode_id(input.tenant_id, "Tenant"),
            name=input.name,
            subscription_type=input.subscription_type,
            tariff_id=decode_optional_id(input.tariff_id, "Tariff"),
        )
        return await mutate(
            info,
            lambda session, actor: service.create_customer(session, actor, command),
            lambda row: CustomerPayload(customer=to_gql_customer(row)),
            CustomerPayload,
        )

    @strawberry.mutation(description="Add a SIM or device to a customer.")
    async def create_endpoint(self, info: Info, input: CreateEndpointInput) -> EndpointPayload:
        command = NewEndpoint(
            customer_id=decode_id(input.customer_id, "Customer"),
            name=input.name,
            iccid=input.iccid,
            sponsor_operator_id=decode_id(input.sponsor_operator_id, "SponsorOperator"),
        )
        return await mutate(
            info,
            lambda session, actor: service.create_endpoint(session, actor, command),
            lambda row: EndpointPayload(endpoint=to_gql_endpoint(row)),
            EndpointPayload,
        )
