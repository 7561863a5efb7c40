"""The public's download of open data (W2), without a token, streamed from the exchange.

Everything else under `/open-data/` is small and relayed whole; a dataset can be millions of
rows, so its bytes pass through as they come. Anyone may call it, so each caller's address
(as the gateway determines it) has a rate of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

import httpx
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway.forwarded import client_address, forwarded_for
from gateway.settings import GatewaySettings
from shared.contracts.catalog import CODE_FRONT, CODE_NUMBER
from shared.problems import NotFound, ProblemError, TooManyRequests
from shared.ratelimit import RateLimiter, retry_after_header

PASSED_BACK = ("content-type", "x-record-count", "x-cursor-end", "retry-after")
OPEN_DOWNLOAD_PATH = "/open-data/entries/{front}/{number}/records"


class ServiceDidNotAnswer(ProblemError):
    status, slug, title = 502, "bad-gateway", "The service did not answer"


async def _closing(upstream: httpx.Response) -> AsyncIterator[bytes]:
    """The answer's bytes as they come; its connection closed when they end, however (a
    caller that leaves cancels the reading here, which runs the `finally`)."""
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    finally:
        await upstream.aclose()


def open_data_router(settings: GatewaySettings, client: httpx.AsyncClient) -> APIRouter:
    router = APIRouter(tags=["open data"])
    limiter = RateLimiter(settings.open_data_rate_per_second, settings.open_data_burst)

    @router.get(OPEN_DOWNLOAD_PATH, response_class=StreamingResponse,
                summary="Download an open entry's data (CSV or JSON Lines; no token)",
                description="Every current record of an entry its provider opened to the "
                "public, with the items it shares unconditionally, in cursor order (`_cursor`, "
                "the items, `_deleted`); `since=<X-Cursor-End>` gives what changed since, "
                "deletions as tombstones. Each download is audited. The entry's description "
                "and terms of use: `/open-data/catalog.jsonld?code=…`.",
                responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
                                 "description": "The rows; X-Record-Count, X-Cursor-End."},
                           404: {"description": "No entry open to the public has this code."},
                           429: {"description": "This address is over its rate of downloads."}})
    async def download(
        request: Request,
        front: Annotated[str, Path(pattern=CODE_FRONT, description="Front segment of the code.")],
        number: Annotated[str, Path(pattern=CODE_NUMBER, description="Six-digit back segment.")],
        format: Annotated[Literal["csv", "jsonl"], Query(description="CSV (a header line) or "
                                                         "JSON Lines.")] = "csv",
        since: Annotated[int, Query(ge=0, le=2**63 - 1, description="Only changes after "
                                    "this cursor, deletions included.")] = 0,
    ) -> Response:
        if "exchange" not in settings.services:
            raise NotFound("This node routes no exchange service.")
        address = client_address(request.scope, settings.trusted_proxies)
        wait = limiter.acquire(f"public/{address}")
        if wait:
            raise TooManyRequests(f"Downloads from {address} are over the rate of "
                                  f"{limiter.rate:g}/s.",
                                  headers={"Retry-After": retry_after_header(wait)})
        try:
            upstream = await client.send(client.build_request(
                "GET", f"{settings.services['exchange'].rstrip('/')}/open-data/entries/"
                       f"{front}/{number}/records", params={"format": format, "since": since},
                headers={**{key.decode(): value.decode() for key, value in
                            forwarded_for(request.scope, settings.trusted_proxies)},
                         **{k: v for k, v in request.headers.items() if k == "x-request-id"}}),
                stream=True)
        except httpx.TransportError as error:
            raise ServiceDidNotAnswer(f"{type(error).__name__} calling the exchange.") from error
        headers = {k: v for k, v in upstream.headers.items() if k in PASSED_BACK}
        if upstream.status_code != 200:
            try:
                return Response(await upstream.aread(), upstream.status_code, headers=headers)
            finally:
                await upstream.aclose()
        # Saved under the entry's code, whatever the browser makes of the URL.
        headers["content-disposition"] = (f'attachment; filename="{front}-{number}.{format}"')
        return StreamingResponse(_closing(upstream), headers=headers)

    return router
