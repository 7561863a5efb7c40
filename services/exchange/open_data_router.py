"""Open data (开放数据, W2): anyone downloads what a provider opened to the public.

No token: the gateway serves this at `/open-data/entries/{front}/{number}/records` and limits
each address's rate. What leaves is decided from the exchange's own view of the catalog
(`Resource.open_items`, kept from catalog events): an open, unclassified, published entry's
unconditionally shared items, every current record. Each download is in the audit log like
any other access, as `open_data` by `public:<address>`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from services.exchange import audit, download
from services.exchange.deps import SessionDep, runtime_of
from services.exchange.download import Export, Format
from services.exchange.exceptions import NotOpenData, OpenDataBusy
from services.exchange.models import Resource
from services.exchange.schemas import Front, Number
from shared.addresses import caller_address
from shared.contracts.exchange import AccessKind

# Documented by the gateway, whose /open-data/… is the one way in (/api/exchange/… is not).
RETRY_AFTER_BUSY = "2"
router = APIRouter(prefix="/open-data", tags=["open data"], include_in_schema=False)

DESCRIPTION = (
    "No token needed; through the gateway at `/open-data/entries/{front}/{number}/records`. "
    "Streams every current record of an entry its provider opened to the public (开放), with "
    "the items it shares unconditionally, in cursor order: `_cursor`, the items, `_deleted`. "
    "Ask again with `since=<X-Cursor-End>` for what changed since, deletions included as "
    "tombstones (as the granted download does). The entry's terms of use are in its "
    "description (`/open-data/catalog.jsonld?code=…`). 404 `not-open-data` for an entry that "
    "is not open, is classified, withdrawn or unknown.")


@router.get("/entries/{front}/{number}/records", summary="Download an open entry's data "
            "(anyone; streamed)", response_class=StreamingResponse, description=DESCRIPTION,
            responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
                             "description": "Rows with `_cursor`, the open items and "
                             "`_deleted`. Headers: X-Record-Count, X-Cursor-End."}})
async def download_open_data(
    front: Front, number: Number, request: Request, session: SessionDep,
    format: Format = Format.csv,
    since: Annotated[int, Query(ge=0, le=2**63 - 1, description="Only changes after this "
                                "cursor, deletions included; 0: every current record.")] = 0,
) -> StreamingResponse:
    code = f"{front}/{number}"
    resource = await session.get(Resource, code)
    if resource is None or resource.status != "published" or not resource.open_items:
        raise NotOpenData(f"No entry open to the public has code {code}.")
    items = tuple(resource.open_items)
    export = Export(resource.code, items, (), since,
                    tuple(item for item in resource.key_items if item in items))
    streams: asyncio.Semaphore = request.app.state.open_data_streams
    if streams.locked():
        raise OpenDataBusy("Every stream this node gives the public is in use; try again "
                           "shortly.", headers={"Retry-After": RETRY_AFTER_BUSY})
    await streams.acquire()
    try:
        answer = await download.audited_response(
            runtime_of(request), export, format,
            actor=f"public:{caller_address(request) or ''}", access=lambda rows: audit.Access(
                kind=AccessKind.open_data, consumer="", provider=resource.provider,
                entry_code=resource.code, grant_id=None, purpose=None, items=items,
                record_count=rows))
    except BaseException:
        streams.release()
        raise
    answer.body_iterator = _releasing(answer.body_iterator, streams)
    return answer


async def _releasing(body: AsyncIterable[Any], streams: asyncio.Semaphore
                     ) -> AsyncIterator[Any]:
    """The stream's bytes; its place among the public's streams freed when it ends, however
    (a caller that leaves cancels the reading here, which runs the `finally`)."""
    try:
        async for chunk in body:
            yield chunk
    finally:
        streams.release()
