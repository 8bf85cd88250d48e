"""Which document a request runs: Apollo's Automatic Persisted Queries protocol
(https://www.apollographql.com/docs/apollo-server/performance/apq), and the allow-list.

A request may carry ``extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}``.
Without ``query``, the stored document of that hash runs (``PERSISTED_QUERY_NOT_FOUND``
when there is none: the client then sends the hash with the query). With ``query``, the
hash must be the query's SHA-256 (``PERSISTED_QUERY_HASH_MISMATCH``), and the document is
stored once it has run, when the caller has a token (anonymous callers could otherwise
fill the table with whitespace variants).

In allow-list mode (``persisted_queries_only``), only documents an operator registered
run, sent by hash or in full; nothing is stored from requests.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from graphql import GraphQLError, GraphQLSchema, parse, validate

from tenantry.persisted_queries import repository as repo

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
BAD_REQUEST = "BAD_REQUEST"
MANIFEST_FORMAT = "apollo-persisted-query-manifest"


class PersistedQueryError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Document:
    query: str | None
    # The hash to store the query under once it has run (APQ registration).
    store_as: str | None = None


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(
            'Unsupported persisted query: send {"version": 1, "sha256Hash": "<hex>"}.',
            BAD_REQUEST,
        )
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or len(sha) != 64:
        raise PersistedQueryError(
            "persistedQuery.sha256Hash must be the 64 hex digits of the query's SHA-256.",
            BAD_REQUEST,
        )
    return sha.lower()


def applies(extensions: Mapping[str, Any] | None, allow_list_only: bool) -> bool:
    """Whether a request needs a look at the stored documents."""
    return allow_list_only or "persistedQuery" in (extensions or {})


async def document_to_run(
    connection: asyncpg.Connection,
    query: str | None,
    extensions: Mapping[str, Any] | None,
    *,
    allow_list_only: bool,
    may_store: bool,
) -> Document:
    sha = _requested_hash(extensions)
    if sha is None and not allow_list_only:
        return Document(query)
    if query is not None:
        actual = sha256_of(query)
        if sha is not None and sha != actual:
            raise PersistedQueryError(
                f"persistedQuery.sha256Hash is not the SHA-256 of the query ({actual}).",
                HASH_MISMATCH,
            )
        sha = actual
    assert sha is not None
    row = await repo.find(connection, sha)
    if allow_list_only:
        if row is None or not row["allow_listed"]:
            raise PersistedQueryError(
                "This server runs registered operations only, and this one is not registered.",
                NOT_ALLOWED,
            )
        return Document(row["document"])
    if query is not None:
        return Document(query, store_as=sha if row is None and may_store else None)
    if row is None:
        raise PersistedQueryError("PersistedQueryNotFound", NOT_FOUND)
    return Document(row["document"])


async def store(connection: asyncpg.Connection, document: Document) -> None:
    if document.store_as is not None and document.query is not None:
        await repo.store(connection, document.store_as, document.query)


def documents_in(name: str, text: str) -> list[str]:
    """The documents of a file to register: a ``.graphql`` file is one document, a ``.json``
    file an Apollo persisted query manifest (``generate-persisted-query-manifest``)."""
    if not name.endswith(".json"):
        return [text]
    manifest = json.loads(text)
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise PersistedQueryError(
            f'{name}: not an Apollo manifest ("format": "{MANIFEST_FORMAT}").', BAD_REQUEST
        )
    return [str(operation["body"]) for operation in manifest.get("operations", [])]


async def register(
    connection: asyncpg.Connection, schema: GraphQLSchema, documents: Iterable[str]
) -> list[str]:
    """Put documents on the allow-list, each checked against the schema first; their hashes."""
    checked: list[tuple[str, str]] = []
    for document in documents:
        try:
            errors = validate(schema, parse(document))
        except GraphQLError as error:
            errors = [error]
        if errors:
            raise PersistedQueryError(
                f"Not registered, nothing was: {errors[0].message}\n{document[:200]}",
                BAD_REQUEST,
            )
        checked.append((sha256_of(document), document))
    async with connection.transaction():
        for sha, document in checked:
            await repo.allow_list(connection, sha, document)
    return [sha for sha, _ in checked]


async def unregister(connection: asyncpg.Connection, sha256: str) -> bool:
    return await repo.remove_from_allow_list(connection, sha256.lower())
