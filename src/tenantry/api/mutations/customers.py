"""Customer and endpoint mutations."""

import strawberry

from tenantry.api.errors import USER_ERRORS, UserError
from tenantry.api.info import Info
from tenantry.api.mutations.runner import Input, mutate
from tenantry.api.relay import decode_id, decode_optional_id
from tenantry.api.types.customer import CustomerType, EndpointType, to_gql_customer, to_gql_endpoint
from tenantry.api.types.enums import SubscriptionType
from tenantry.customers import service
from tenantry.customers.service import NewCustomer, NewEndpoint


@strawberry.input(
    description="A new customer; its account opens with it, in the tenant's currency."
)
class CreateCustomerInput:
    tenant_id: strawberry.ID = strawberry.field(
        description="The tenant it is a customer of: yours or one below it."
    )
    name: str = strawberry.field(description="Up to 200 characters.")
    subscription_type: SubscriptionType = strawberry.field(
        description="One of the types the tenant offers."
    )
    tariff_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A tariff the tenant or one above it owns, in its currency. Left out: the "
        "tenant's default customer tariff.",
    )


@strawberry.input(description="A new SIM or device of a customer.")
class CreateEndpointInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer it belongs to.")
    name: str = strawberry.field(description="Up to 200 characters.")
    iccid: str = strawberry.field(
        description="The SIM's ICCID: 18-22 digits starting with 89, unique on the platform."
    )
    sponsor_operator_id: strawberry.ID = strawberry.field(
        description="An operator available to the customer's tenant."
    )


@strawberry.type(description="What createCustomer answers: the customer, or why not.")
class CustomerPayload:
    customer: CustomerType | None = strawberry.field(
        default=None, description="The new customer; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(description="What createEndpoint answers: the endpoint, or why not.")
class EndpointPayload:
    endpoint: EndpointType | None = strawberry.field(
        default=None, description="The new endpoint; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(
        description="Create a customer of a tenant, with its own account (admins of the "
        "tenant or above)."
    )
    async def create_customer(
        self, info: Info, input: Input[CreateCustomerInput]
    ) -> CustomerPayload:
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

    @strawberry.mutation(
        description="Add a SIM or device to a customer (admins of its tenant or above)."
    )
    async def create_endpoint(
        self, info: Info, input: Input[CreateEndpointInput]
    ) -> EndpointPayload:
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
