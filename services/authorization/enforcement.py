"""A change that takes access away is in force for every call that starts after its answer.

The exchange decides each data call from its own view of the grants, kept from their events
(services/exchange/handlers.py), never by asking this service. A revocation answered while
that view still held the grant active would let the next query through; so the answer
waits, bounded, until the exchange reports that it holds the grant's new version. The event
is the only way the change travels: nothing here writes to the exchange.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import httpx

from shared.problems import ProblemError

log = logging.getLogger(__name__)

_FIRST_LOOK_SECONDS = 0.02
_LONGEST_PAUSE_SECONDS = 0.25


class NotYetInForce(ProblemError):
    """The change is kept, but the exchange has not confirmed it in time (503: ask again)."""

    status, slug, title = 503, "not-yet-in-force", "Kept, but not yet in force"

    def __init__(self, detail: str, **extensions: str) -> None:
        super().__init__(detail, headers={"Retry-After": "2"}, **extensions)


class ExchangeView:
    """Asks the node's exchange how far its view of a grant has got."""

    def __init__(self, exchange_url: str, http: httpx.AsyncClient, *, within: float) -> None:
        self.exchange_url = exchange_url.rstrip("/")
        self.http = http
        self.within = within

    async def wait_until_applied(self, grant_id: uuid.UUID, version: int) -> None:
        """Return once the exchange decides on `version` (or a later one) of the grant;
        NotYetInForce after `within` seconds, the change being kept all the same."""
        pause = _FIRST_LOOK_SECONDS
        try:
            async with asyncio.timeout(self.within):
                while not await self._holds(grant_id, version):
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)
        except TimeoutError:
            log.warning("the exchange has not applied a grant change in time",
                        extra={"grant_id": str(grant_id), "version": version})
            raise NotYetInForce(
                f"Grant {grant_id} is changed and the change is kept, but the exchange has "
                f"not applied it within {self.within:g} s, so a data call may still be "
                "served on the old terms until it does (it applies the change from its event "
                "as soon as it can). Send the same request again: it answers once the change "
                "is in force.", grant_id=str(grant_id)) from None

    async def _holds(self, grant_id: uuid.UUID, version: int) -> bool:
        try:
            answer = await self.http.get(f"{self.exchange_url}/internal/grants/{grant_id}")
            held = answer.json().get("version") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):  # away for now: look again until the bound
            return False
        return held is not None and held >= version
