"""Input refused as a whole before it is coerced: text no database column can hold, and
lists too long to coerce in one request.

PostgreSQL refuses NUL characters in text, and UTF-8 cannot encode an unpaired surrogate
(JSON's "\\ud800"): either would reach the database as an unexpected error. Checking every
string of the variables and every string literal here, once, covers every field that takes
text (keys, references, reasons, event ids, monikers, names, search...).
"""

from collections.abc import Iterator

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, visit
from strawberry.extensions import SchemaExtension

from tenantry.api.errors import request_error
from tenantry.api.guard import refuse

BAD_INPUT = "BAD_USER_INPUT"
UNSTORABLE_TEXT = "contains a NUL character or an unpaired surrogate, which cannot be stored"


def is_storable(text: str) -> bool:
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _where(path: tuple[str | int, ...]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)[1:]


def check_variables(variables: object, max_list_length: int) -> GraphQLError | None:
    """The first problem in the raw (JSON) variables; iterative, as JSON nests deep."""
    stack: list[tuple[object, tuple[str | int, ...]]] = [(variables, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not is_storable(value):
                return request_error(f"The text at {_where(path)} {UNSTORABLE_TEXT}.", BAD_INPUT)
        elif isinstance(value, dict):
            stack.extend((v, (*path, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            if len(value) > max_list_length:
                return request_error(
                    f"The list at {_where(path)} holds {len(value)} items; "
                    f"at most {max_list_length} are accepted.",
                    BAD_INPUT,
                )
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return None


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.unstorable: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_: object) -> object:
        if self.unstorable is None and not is_storable(node.value):
            self.unstorable = node
        return None


def check_literals(document: DocumentNode) -> GraphQLError | None:
    literals = _StringLiterals()
    visit(document, literals)
    if literals.unstorable is None:
        return None
    return GraphQLError(
        f"This string {UNSTORABLE_TEXT}.",
        nodes=[literals.unstorable],
        extensions={"code": BAD_INPUT},
    )


class CheckInputBeforeCoercion(SchemaExtension):
    def __init__(self, max_list_length: int) -> None:
        super().__init__()
        self.max_list_length = max_list_length

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.result is None:  # a request refused already has nothing to coerce
            document = context.graphql_document
            error = check_variables(context.variables or {}, self.max_list_length) or (
                check_literals(document) if document is not None else None
            )
            if error is not None:
                refuse(context, error)
        yield
