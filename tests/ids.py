"""Global ids as the API gives them out."""

from strawberry import relay


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))
