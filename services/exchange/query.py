"""Online query (联机查询, E2): one record by its key, from the front-end store or from the
provider's own API (系统对接), filtered to what the grant allows."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange.exceptions import EntryUnknown, NotTheProvider, SourceUnavailable
from services.exchange.filters import passes, project
from services.exchange.models import Resource, SourceApi, StoredRecord
from shared.access import AccessDecision
from shared.tokens import TokenClaims


async def published_resource(session: AsyncSession, code: str) -> Resource:
    resource = await session.get(Resource, code)
    if resource is None or resource.status != "published":
        raise EntryUnknown(f"No published catalog entry has code {code}.")
    return resource


def require_provider(resource: Resource, principal: TokenClaims) -> None:
    if principal.department != resource.provider:
        raise NotTheProvider(f"Only the provider of {resource.code} may do this.")


async def find_record(session: AsyncSession, client: httpx.AsyncClient, resource: Resource,
                      key: str, key_values: list[str],
                      decision: AccessDecision) -> dict[str, str | None] | None:
    """The granted items of the record, or None when there is none the grant reaches."""
    source = await session.get(SourceApi, resource.code)
    if source is not None:
        data = await _call_source(client, source, key_values)
    else:
        data = await session.scalar(select(StoredRecord.data).where(
            StoredRecord.entry_code == resource.code, StoredRecord.key == key,
            StoredRecord.deleted.is_(False)))
    assert decision.grant is not None
    if data is None or not passes(decision.grant.row_filter, data):
        return None  # a record outside the row filter is as absent as a missing one
    return project(data, decision.items)


async def _call_source(client: httpx.AsyncClient, source: SourceApi,
                       key_values: list[str]) -> dict[str, str] | None:
    url = source.url_template.format(key=quote(",".join(key_values), safe=""))
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        raise SourceUnavailable(f"The provider's system failed: {type(error).__name__}.") \
            from error
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise SourceUnavailable(f"The provider's system answered {response.status_code}.")
    body: Any = response.json()
    if not isinstance(body, dict):
        raise SourceUnavailable("The provider's system did not answer with a JSON object.")
    return {str(k): str(v) for k, v in body.items() if v is not None}
