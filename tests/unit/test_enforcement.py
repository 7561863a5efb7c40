"""A revocation's answer waits for the exchange's view of the grant, within a bound."""

from __future__ import annotations

import uuid

import httpx
import pytest

from services.authorization.enforcement import ExchangeView, NotYetInForce

GRANT = uuid.uuid4()


def exchange_holding(*versions: int | None) -> tuple[httpx.AsyncClient, list[str]]:
    """An exchange whose view of the grant moves through `versions` (then stays)."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        version = versions[min(len(asked), len(versions)) - 1]
        return httpx.Response(200, json={"version": version, "status": "active"})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer)), asked


async def test_it_returns_once_the_exchange_holds_the_new_version() -> None:
    http, asked = exchange_holding(None, 3, 4)
    await ExchangeView("http://exchange/", http, within=5).wait_until_applied(GRANT, 4)
    assert asked == [f"/internal/grants/{GRANT}"] * 3


async def test_a_view_that_never_catches_up_is_a_503_that_keeps_the_change() -> None:
    http, _ = exchange_holding(3)
    with pytest.raises(NotYetInForce) as refused:
        await ExchangeView("http://exchange", http, within=0.2).wait_until_applied(GRANT, 4)
    assert refused.value.status == 503
    assert refused.value.headers["Retry-After"] == "2"
    assert "kept" in refused.value.detail


async def test_an_exchange_away_is_asked_again_until_the_bound() -> None:
    def away(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(away))
    with pytest.raises(NotYetInForce):
        await ExchangeView("http://exchange", http, within=0.2).wait_until_applied(GRANT, 1)
