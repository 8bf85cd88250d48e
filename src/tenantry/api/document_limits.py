"""A cap on the definitions in one document.

Validation compares operations with the fragments they use: 500 operations (accepted
before this cap) made one request's validation slow for everyone on the process. The
cap is checked right after parsing, before validation.
"""

from collections.abc import Iterator

from graphql import FragmentDefinitionNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from tenantry.api.errors import request_error


class MaxDefinitions(SchemaExtension):
    def __init__(self, max_operations: int, max_fragments: int) -> None:
        super().__init__()
        self.max_operations = max_operations
        self.max_fragments = max_fragments

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is None:
            return
        operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        fragments = sum(isinstance(d, FragmentDefinitionNode) for d in document.definitions)
        for count, limit, what in (
            (operations, self.max_operations, "operations"),
            (fragments, self.max_fragments, "fragments"),
        ):
            if count > limit:
                # Raised here, Strawberry answers it as the request's only error.
                raise request_error(
                    f"The document defines {count} {what}; at most {limit} are accepted.",
                    "BAD_USER_INPUT",
                )
