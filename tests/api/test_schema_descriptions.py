"""Every part of the schema a reader of GraphiQL's docs pane meets has a description."""

from collections.abc import Iterator

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    specified_scalar_types,
)

from tenantry.api.schema import build_schema
from tenantry.settings import Settings


def _parts(named: GraphQLNamedType) -> Iterator[tuple[str, object]]:
    """The type and everything in it that can carry a description, each with its coordinate
    (``Type``, ``Type.field``, ``Type.field(arg:)``, ``Type.VALUE``)."""
    yield named.name, named
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        for field_name, field in named.fields.items():
            yield f"{named.name}.{field_name}", field
            for arg_name, arg in field.args.items():
                yield f"{named.name}.{field_name}({arg_name}:)", arg
    elif isinstance(named, GraphQLInputObjectType):
        for field_name, input_field in named.fields.items():
            yield f"{named.name}.{field_name}", input_field
    elif isinstance(named, GraphQLEnumType):
        for value_name, value in named.values.items():
            yield f"{named.name}.{value_name}", value
    else:
        # Unions and custom scalars carry only their own description.
        assert isinstance(named, GraphQLUnionType | GraphQLScalarType), named


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Every type, field, argument, input field and enum value without a description;
    introspection types and the built-in scalars are GraphQL's, not ours."""
    return [
        coordinate
        for name, named in sorted(schema.type_map.items())
        if not name.startswith("__") and name not in specified_scalar_types
        for coordinate, part in _parts(named)
        if not (getattr(part, "description", None) or "").strip()
    ]


def test_every_type_field_argument_input_field_and_enum_value_is_described() -> None:
    gaps = undescribed(build_schema(Settings(database_url="unused"))._schema)
    assert not gaps, f"{len(gaps)} without a description:\n" + "\n".join(gaps)
