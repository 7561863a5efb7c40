"""Online query (联机查询, E2): one record by its key, from the front-end store or from the
provider's own API (系统对接), filtered to what the grant allows.

This is the hot path, so it skips the ORM: the consumer's grants, the provider's API (if it
registered one) and the record come back in one round trip on a driver pool, and the audit
entry is group-committed with those of concurrent queries (each answer waits until its own
entry is durable). An entry's shape (items, key items, provider) changes rarely and is
cached for a few seconds; grants are read on every call, so a revocation applies as soon
as its event has arrived.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.exchange.audit import Access, GroupWriter, route_of
from services.exchange.exceptions import (
    BadKey,
    EntryUnknown,
    NotTheProvider,
    RecordNotFound,
)
from services.exchange.filters import passes, project
from services.exchange.gate import Gate
from services.exchange.loading import validator_for
from services.exchange.models import Resource
from services.exchange.schemas import QueryResult
from services.exchange.source_apis import SourceApiCall, SourceApiCaller
from services.exchange.subject_keys import SubjectKeys
from services.exchange.validation import RowRejected, RowValidator
from shared.access import AccessDecision
from shared.contracts.catalog import PermittedUse, ShareMethod
from shared.contracts.exchange import AccessKind
from shared.db import CONNECT_TIMEOUT_SECONDS
from shared.tokens import TokenClaims

LOOKUP = """
    SELECT (SELECT coalesce(json_agg(snapshot), '[]'::json) FROM grant_view
            WHERE consumer = $1 AND entry_code = $2)::text,
           (SELECT json_build_array(url_template, credential_header, credential)::text
            FROM source_api WHERE entry_code = $2),
           (SELECT data::text FROM record WHERE entry_code = $2 AND key = $3 AND NOT deleted)
"""


async def published_resource(session: AsyncSession, code: str) -> Resource:
    resource = await session.get(Resource, code)
    if resource is None or resource.status != "published":
        raise EntryUnknown(f"No published catalog entry has code {code}.")
    return resource


def require_provider(resource: Resource, principal: TokenClaims) -> None:
    if principal.department != resource.provider:
        raise NotTheProvider(f"Only the provider of {resource.code} may do this.")


@dataclass(frozen=True)
class EntryShape:
    """What a query needs of an entry, cached briefly."""

    code: str
    provider: str
    validator: RowValidator


@dataclass(frozen=True)
class Found:
    """What one lookup found: the consumer's grants, and the record or where to get it."""

    grants: list[dict[str, Any]]
    source: SourceApiCall | None  # the provider's own API serves the entry (系统对接)
    stored: dict[str, str] | None


class EntryShapes:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_seconds: float = 5.0
                 ) -> None:
        self.sessions, self.ttl = sessions, ttl_seconds
        self._cache: dict[str, tuple[float, EntryShape]] = {}

    async def get(self, code: str) -> EntryShape:
        cached = self._cache.get(code)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        async with self.sessions() as session:
            resource = await published_resource(session, code)
        shape = EntryShape(code, resource.provider, validator_for(resource))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[code] = (time.monotonic(), shape)
        return shape


class DriverPool:
    """A small asyncpg pool for the query path: prepared statements, no pre-ping round
    trip, no ORM. Opened on first use, closed when the service stops."""

    def __init__(self, dsn: str, schema: str, size: int = 10) -> None:
        self.dsn, self.schema, self.size = dsn, schema, size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.dsn, min_size=2, max_size=self.size, reset=_keep_session,
                        timeout=CONNECT_TIMEOUT_SECONDS,
                        server_settings={"search_path": f"{self.schema},public"})
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Skip the reset round trip on release: the query path leaves no session state (no
    SET, LISTEN, advisory lock or open transaction), only autocommitted statements."""


async def lookup(connection: asyncpg.Connection, shape: EntryShape, consumer: str,
                 key: str) -> Found:
    """The consumer's grant snapshots for the entry and the stored record, in one trip."""
    grants, source, data = await connection.fetchrow(LOOKUP, consumer, shape.code, key)
    call = None
    if source:
        url_template, header, credential = json.loads(source)
        call = SourceApiCall(url_template, shape.code, header, credential)
    return Found(json.loads(grants), call, json.loads(data) if data else None)


@dataclass(frozen=True)
class QueryService:
    """Everything an online query uses, built once per process."""

    shapes: EntryShapes
    pool: DriverPool
    gate: Gate
    sources: SourceApiCaller
    audit: GroupWriter
    subject_keys: SubjectKeys

    async def answer(self, principal: TokenClaims, code: str, key_values: list[str],
                     purpose: PermittedUse, items: list[str]) -> bytes:
        """The JSON body of the answer: the granted items of the record with this key.
        Refusals (no grant, another purpose, other items), a malformed key and an absent
        record are problems; every decided access is audited before the answer leaves."""
        shape = await self.shapes.get(code)
        try:
            stored_key = shape.validator.key_of(key_values)
        except RowRejected as error:
            raise BadKey(str(error), field="key") from None
        consumer = principal.department or ""
        subject_key = self.subject_keys.of(stored_key)
        async with (await self.pool.pool()).acquire() as connection:
            found = await lookup(connection, shape, consumer, stored_key)
        decision = await self.gate.check(
            found.grants, principal, shape.code, shape.provider, kind=AccessKind.query,
            purpose=purpose, method=ShareMethod.online_query, items=items,
            subject_key=subject_key)
        assert decision.grant is not None
        record = await granted_view(self.sources, found, key_values, decision)
        await self.audit.append(Access(
            kind=AccessKind.query, consumer=consumer, provider=shape.provider,
            entry_code=shape.code, grant_id=decision.grant.id, purpose=purpose,
            items=decision.items, record_count=int(record is not None),
            subject_key=subject_key, route=route_of(principal)), actor=principal.sub)
        if record is None:
            raise RecordNotFound(f"No record of {shape.code} with this key is available.")
        return QueryResult(entry_code=shape.code, key=key_values, record=record,
                           grant_id=decision.grant.id).model_dump_json().encode()


async def granted_view(sources: SourceApiCaller, found: Found, key_values: list[str],
                       decision: AccessDecision) -> dict[str, str | None] | None:
    """The granted items of the record, or None when there is none the grant reaches."""
    data = await sources.fetch(found.source, key_values) if found.source else found.stored
    assert decision.grant is not None
    if data is None or not passes(decision.grant.row_filter, data):
        return None  # a record outside the row filter is as absent as a missing one
    return project(data, decision.items)
