"""A steady load on a running node, for healing drills: a few department systems writing to
and reading from every service through the gateway, and a node admin submitting a portal
form, each answer kept with the moment it came. A drill kills processes under it, then asks
what the callers saw meanwhile and whether every write they were answered for is kept."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from shared.workdays import china_date
from tests import factories
from tests.integration.conftest import ENTRIES, REQUESTS, Party, application, bearer
from tests.integration.portal_people import form_token, sign_in

PROBLEM = "application/problem+json"
MAIL_PAGE = "/admin/notice-mail"
# Each caller's pause between calls: a load a 2-core machine carries while the supervisor
# starts a process again, not a flood that starves the restart it is there to watch.
PAUSE_SECONDS = 0.1
# A caller that waits longer than this for an answer saw the node hang.
PATIENCE_SECONDS = 10.0


@dataclass(frozen=True)
class Answer:
    """What a caller saw of one call: the answer, or the error that came instead."""

    call: str
    at: float  # time.monotonic() when it came
    status: int | None = None  # None: no answer at all (the connection failed)
    media_type: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def says_unavailable(self) -> bool:
        """A 502 or 503 that says why as callers expect: a problem body from the API, or
        the portal's own page telling a person the platform is away."""
        page = self.call.startswith("portal") and self.media_type == "text/html"
        return self.status in (502, 503) and (self.media_type == PROBLEM or page)


@dataclass(frozen=True)
class Drill:
    """Who the load calls as and what it writes to: a provider that publishes, loads records
    and files systems; a consumer that files requests; a node admin at the portal."""

    gateway: str
    provider: Party
    consumer: Party
    entry: str  # the provider's published population entry: records are loaded into it
    conditional: str  # the provider's published conditional entry: requests are filed for it
    admin: str  # user name of a node admin (password `portal_browser.PASSWORD`)


Sent = tuple[httpx.Response, list[str]]  # the answer, and what it wrote if it was taken
Call = Callable[[httpx.AsyncClient], Awaitable[Sent]]


@dataclass
class SteadyLoad:
    """The load, run in a thread of its own (the drill blocks while it kills and waits)."""

    drill: Drill
    systems: int = 2  # department systems calling at once, besides the portal's admin
    answers: list[Answer] = field(default_factory=list)
    written: dict[str, list[str]] = field(default_factory=dict)  # by call: what was taken
    _stopping: threading.Event = field(default_factory=threading.Event)
    _started: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _failure: BaseException | None = None

    def __enter__(self) -> SteadyLoad:
        self._thread = threading.Thread(target=self._run, name="steady-load", daemon=True)
        self._thread.start()
        self._started.wait(60)
        self._raise_failure()
        assert self._started.is_set(), "the load did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        assert self._thread is not None
        self._thread.join(PATIENCE_SECONDS * 3)
        if exc == (None, None, None):
            self._raise_failure()

    @property
    def calls(self) -> set[str]:
        return set(_API_CALLS) | set(_PORTAL_CALLS)

    def answered_all_since(self, moment: float) -> bool:
        """Whether every kind of call was answered, and taken, since `moment`."""
        self._raise_failure()  # a load that stopped answers nothing more
        return {answer.call for answer in self.answers
                if answer.ok and answer.at >= moment} == self.calls

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise AssertionError("the load stopped") from self._failure

    def _run(self) -> None:
        try:
            asyncio.run(self._callers())
        except BaseException as failure:  # told to the drill, which asserts
            self._failure = failure
            self._started.set()

    async def _callers(self) -> None:
        async with httpx.AsyncClient(base_url=self.drill.gateway,
                                     timeout=PATIENCE_SECONDS) as browser:
            form = await self._admin_at_the_portal(browser)
            await self._until_each_call_is_taken(browser)
            callers = [self._api_caller(number) for number in range(self.systems)]
            self._started.set()
            await asyncio.gather(self._portal_caller(browser, form), *callers)

    async def _admin_at_the_portal(self, browser: httpx.AsyncClient) -> str:
        """Sign the admin in and open the mail address form, once the portal knows the
        provider from its events; the form's token (kept, as in a tab left open)."""
        assert (await sign_in(browser, self.drill.admin)).status_code == 303
        async with asyncio.timeout(30):
            while True:
                page = await browser.get(MAIL_PAGE, params={"q": self.drill.provider[
                    "credit_code"]})
                if self.drill.provider["name"] in page.text:
                    return form_token(page)
                await asyncio.sleep(0.2)

    async def _until_each_call_is_taken(self, client: httpx.AsyncClient) -> None:
        """Before the load begins: the services learn entries and departments from events,
        so the first calls may be refused for a moment (not a fault of anyone's)."""
        for name, call in _API_CALLS.items():
            deadline = time.monotonic() + 30
            while not (answer := (await call(self.drill)(client))[0]).is_success:
                assert time.monotonic() < deadline, f"{name}: {answer.text}"
                await asyncio.sleep(0.2)

    async def _api_caller(self, number: int) -> None:
        async with httpx.AsyncClient(base_url=self.drill.gateway,
                                     timeout=PATIENCE_SECONDS) as client:
            calls = list(_API_CALLS.items())
            random.Random(number).shuffle(calls)  # the callers do not march in step
            for name, call in itertools.cycle(calls):
                if self._stopping.is_set():
                    return
                await self._send(name, call(self.drill), client)

    async def _portal_caller(self, browser: httpx.AsyncClient, form: str) -> None:
        for number in itertools.count():
            for name, call in _PORTAL_CALLS.items():
                if self._stopping.is_set():
                    return
                await self._send(name, call(self.drill, form, number), browser)

    async def _send(self, name: str, call: Call, client: httpx.AsyncClient) -> None:
        try:
            response, wrote = await call(client)
        except httpx.TransportError as error:
            self.answers.append(Answer(name, time.monotonic(), error=type(error).__name__))
        else:
            answer = Answer(name, time.monotonic(), response.status_code,
                            response.headers.get("content-type", "").split(";")[0])
            self.answers.append(answer)
            if answer.ok:
                self.written.setdefault(name, []).extend(wrote)
        await asyncio.sleep(PAUSE_SECONDS)


def _taken(response: httpx.Response, field_name: str) -> Sent:
    return response, [response.json()[field_name]] if response.is_success else []


def _read(path: str, who: str, **params: str) -> Callable[[Drill], Call]:
    def call(drill: Drill) -> Call:
        party: Party = getattr(drill, who)

        async def send(client: httpx.AsyncClient) -> Sent:
            return await client.get(path, params=params, headers=bearer(party["token"])), []
        return send
    return call


def _draft_entry(drill: Drill) -> Call:
    async def send(client: httpx.AsyncClient) -> Sent:
        return _taken(await client.post(ENTRIES, json=factories.population_entry(),
                                        headers=bearer(drill.provider["token"])), "code")
    return send


def _file_request(drill: Drill) -> Call:
    async def send(client: httpx.AsyncClient) -> Sent:
        return _taken(await client.post(REQUESTS, json=application(drill.conditional),
                                        headers=bearer(drill.consumer["token"])), "id")
    return send


def _load_records(drill: Drill) -> Call:
    people = {factories.id_number(): factories.person_name() for _ in range(2)}
    body = "GMSFHM,XM,CSRQ\n" + "".join(f"{key},{name},1980-01-01\n"
                                        for key, name in people.items())

    async def send(client: httpx.AsyncClient) -> Sent:
        response = await client.post(
            f"/api/exchange/entries/{drill.entry}/records", content=body.encode(),
            headers={**bearer(drill.provider["token"]), "content-type": "text/csv"})
        taken = response.is_success and response.json()["accepted"] == len(people)
        return response, list(people) if taken else []
    return send


def _file_system(drill: Drill) -> Call:
    async def send(client: httpx.AsyncClient) -> Sent:
        return _taken(await client.post("/api/evaluation/systems", json={
            "name": f"人口信息管理系统{random.randint(10**8, 10**9)}",
            "description": "户籍人口信息的登记与核验", "funding_source": "local_budget",
            "construction_funding": "0", "annual_om_funding": "80000"},
            headers=bearer(drill.provider["token"])), "id")
    return send


def _open_mail_page(drill: Drill, form: str, number: int) -> Call:
    async def send(browser: httpx.AsyncClient) -> Sent:
        return await browser.get(MAIL_PAGE, params={"q": drill.provider["credit_code"]}), []
    return send


def _set_mail_address(drill: Drill, form: str, number: int) -> Call:
    address = f"shuju{number}@example.cn"

    async def send(browser: httpx.AsyncClient) -> Sent:
        response = await browser.post(MAIL_PAGE, data={
            "csrf_token": form, "department": drill.provider["credit_code"],
            "address": address})
        return response, [address] if response.status_code == 303 else []
    return send


# Each service written to and read from, as its callers do.
_API_CALLS: dict[str, Callable[[Drill], Call]] = {
    "catalog entry": _draft_entry,
    "catalog list": _read(ENTRIES, "provider", limit="5"),
    "share request": _file_request,
    "who am I": _read("/api/authorization/me", "consumer"),
    "records load": _load_records,
    "loads list": _read("/api/exchange/loads", "provider", limit="5"),
    "system filing": _file_system,
    "systems list": _read("/api/evaluation/systems", "provider", limit="5",
                          period=str(china_date(datetime.now(UTC)).year)),
}
# The portal's own write (the address notices are mailed to), with a form opened once.
_PORTAL_CALLS: dict[str, Callable[[Drill, str, int], Call]] = {
    "portal page": _open_mail_page,
    "portal address": _set_mail_address,
}
