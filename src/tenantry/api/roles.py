"""The role a mutation needs, checked before its input is coerced.

A mutation whose refusal depends only on the caller (``Principal.require_platform_admin``)
declares it with ``metadata=requires(...)``. The check runs before execution, so a caller
without the role is refused at once, however large the input it sent: coercing 100,000
usage records would hold the event loop for seconds. The service keeps its own check.
"""

from collections.abc import Callable, Iterator, Mapping

from graphql import GraphQLObjectType
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from tenantry.api.errors import request_error
from tenantry.api.guard import refuse, root_field_names
from tenantry.auth.principal import Principal
from tenantry.core.errors import DomainError

REQUIREMENT = "tenantry.requires"

Requirement = Callable[[Principal], None]


def requires(requirement: Requirement) -> Mapping[str, Requirement]:
    """Field metadata: ``requirement`` raises ``DomainError`` for a caller it refuses."""
    return {REQUIREMENT: requirement}


def requirement_of(mutation: GraphQLObjectType, field_name: str) -> Requirement | None:
    field = mutation.fields.get(field_name)
    definition = field.extensions.get("strawberry-definition") if field else None
    requirement: Requirement | None = definition.metadata.get(REQUIREMENT) if definition else None
    return requirement


class RequireRoleBeforeInput(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        principal = getattr(context.context, "principal", None)
        mutation = context.schema._schema.mutation_type
        if principal is not None and mutation and context.operation_type is OperationType.MUTATION:
            for name in sorted(root_field_names(context)):
                requirement = requirement_of(mutation, name)
                if requirement is None:
                    continue
                try:
                    requirement(principal)
                except DomainError as error:
                    problem = error.problems[0]
                    refuse(context, request_error(problem.message, problem.code.name))
                    break
        yield
