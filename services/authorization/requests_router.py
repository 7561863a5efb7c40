"""Sharing requests API (A1–A4): file, answer, negotiate, escalate, decide, withdraw, list.

Departments act through staff or systems with the request_reviewer role (systems with
data_operator may file requests too); the arbiter role belongs to the competent authority
or coordinating body. Auditors, node admins and arbiters see every request; a department
sees those it is a party to.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.authorization import requests
from services.authorization.deps import (
    ArbiterPrincipal,
    OutboxDep,
    Requester,
    Reviewer,
    SessionDep,
    SettingsDep,
    department_of,
    oversees,
)
from services.authorization.exceptions import RequestNotFound
from services.authorization.models import ShareRequest
from services.authorization.schemas import (
    AnswerCreate,
    DecisionCreate,
    MessageCreate,
    MessagePublic,
    ReasonCreate,
    RequestCreate,
    RequestDetail,
    WithdrawalCreate,
)
from shared import clock
from shared.auth import CurrentPrincipal
from shared.contracts import Role
from shared.contracts.catalog import EntryCode
from shared.contracts.sharing import RequestSnapshot, RequestStatus
from shared.identifiers import CreditCode
from shared.pagination import Page, PageDep
from shared.problems import Forbidden
from shared.tokens import TokenClaims

router = APIRouter(prefix="/requests", tags=["sharing requests"])


class Side(StrEnum):
    consumer = "consumer"
    provider = "provider"
    either = "either"


@router.post("", response_model=RequestSnapshot, status_code=status.HTTP_201_CREATED,
             summary="Request a resource's data (granted at once if unconditional)")
async def submit_request(body: RequestCreate, principal: Requester, session: SessionDep,
                         outbox: OutboxDep, settings: SettingsDep) -> RequestSnapshot:
    request = await requests.submit(
        session, outbox, body, consumer=department_of(principal), actor=principal.sub,
        node=settings.node_id, answer_workdays=settings.answer_workdays, now=clock.now())
    return requests.snapshot(request)


@router.get("", response_model=Page[RequestSnapshot],
            summary="Requests: mine, waiting for my answer, overdue, by entry")
async def list_requests(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep,
    side: Annotated[Side, Query(description="For a department: requests it filed "
                                "(`consumer`), requests waiting for its answer "
                                "(`provider`, with status submitted/overdue/negotiating), "
                                "or both.")] = Side.either,
    status: Annotated[list[RequestStatus], Query(description="Any of these states; "
                                                 "`overdue` lists the late ones.")] = [],  # noqa: B006
    entry_code: Annotated[EntryCode | None, Query()] = None,
    consumer: Annotated[CreditCode | None, Query(description="Oversight roles only.")] = None,
    provider: Annotated[CreditCode | None, Query(description="Oversight roles only.")] = None,
) -> dict[str, object]:
    if oversees(principal):
        as_consumer, as_provider, parties = consumer, provider, None
    else:
        department = department_of(principal)
        as_consumer = department if side == Side.consumer else None
        as_provider = department if side == Side.provider else None
        parties = department if side == Side.either else None
    items, total = await requests.list_requests(
        session, page, as_consumer=as_consumer, as_provider=as_provider, parties=parties,
        status=status, entry_code=entry_code)
    return page.wrap([requests.snapshot(r) for r in items], total)


@router.get("/{request_id}", response_model=RequestDetail,
            summary="One request with its history and negotiation")
async def get_request(request_id: uuid.UUID, principal: CurrentPrincipal,
                      session: SessionDep) -> RequestDetail:
    request = await _visible(session, request_id, principal)
    transitions, messages = await requests.history(session, request.id)
    return RequestDetail(**requests.snapshot(request).model_dump(),
                         transitions=transitions, messages=messages)


@router.post("/{request_id}/answer", response_model=RequestSnapshot,
             summary="Approve (possibly narrowed) or refuse with a reason (provider)")
async def answer_request(request_id: uuid.UUID, body: AnswerCreate, principal: Reviewer,
                         session: SessionDep, outbox: OutboxDep) -> RequestSnapshot:
    request = await requests.get(session, request_id, for_update=True)
    await requests.answer(session, outbox, request, body, provider=principal.department,
                          actor=principal.sub, now=clock.now())
    return requests.snapshot(request)


@router.post("/{request_id}/negotiation", response_model=RequestSnapshot,
             summary="Open a negotiation after a refusal (consumer)")
async def open_negotiation(request_id: uuid.UUID, body: MessageCreate, principal: Reviewer,
                           session: SessionDep, outbox: OutboxDep) -> RequestSnapshot:
    request = await requests.get(session, request_id, for_update=True)
    await requests.open_negotiation(session, outbox, request, consumer=principal.department,
                                    actor=principal.sub, message=body.body)
    return requests.snapshot(request)


@router.post("/{request_id}/messages", response_model=MessagePublic,
             status_code=status.HTTP_201_CREATED, summary="Write to the other party")
async def post_message(request_id: uuid.UUID, body: MessageCreate,
                       principal: CurrentPrincipal, session: SessionDep,
                       outbox: OutboxDep) -> object:
    if not (principal.has_role(Role.request_reviewer) or principal.has_role(Role.arbiter)):
        raise Forbidden("Writing on a request needs the request_reviewer or arbiter role.",
                        reason="missing_role", required_roles=["request_reviewer", "arbiter"])
    request = await requests.get(session, request_id, for_update=True)
    return await requests.post_message(
        session, outbox, request, department=principal.department,
        is_arbiter=principal.has_role(Role.arbiter), actor=principal.sub, body=body.body)


@router.post("/{request_id}/escalation", response_model=RequestSnapshot,
             summary="Take an unresolved request to the arbiter (a party)")
async def escalate_request(request_id: uuid.UUID, body: ReasonCreate, principal: Reviewer,
                           session: SessionDep, outbox: OutboxDep) -> RequestSnapshot:
    request = await requests.get(session, request_id, for_update=True)
    await requests.escalate(session, outbox, request, department=principal.department,
                            actor=principal.sub, reason=body.reason, now=clock.now())
    return requests.snapshot(request)


@router.post("/{request_id}/decision", response_model=RequestSnapshot,
             summary="The arbiter's final decision")
async def decide_request(request_id: uuid.UUID, body: DecisionCreate,
                         principal: ArbiterPrincipal, session: SessionDep,
                         outbox: OutboxDep) -> RequestSnapshot:
    request = await requests.get(session, request_id, for_update=True)
    await requests.decide(session, outbox, request, body, department=principal.department,
                          actor=principal.sub, now=clock.now())
    return requests.snapshot(request)


@router.post("/{request_id}/withdrawal", response_model=RequestSnapshot,
             summary="Withdraw an open request (consumer)")
async def withdraw_request(request_id: uuid.UUID, body: WithdrawalCreate,
                           principal: Reviewer, session: SessionDep,
                           outbox: OutboxDep) -> RequestSnapshot:
    request = await requests.get(session, request_id, for_update=True)
    await requests.withdraw(session, outbox, request, consumer=principal.department,
                            actor=principal.sub, reason=body.reason)
    return requests.snapshot(request)


async def _visible(session: SessionDep, request_id: uuid.UUID,
                   principal: TokenClaims) -> ShareRequest:
    request = await requests.get(session, request_id)
    if not oversees(principal) and principal.department not in (request.consumer,
                                                                  request.provider):
        # Not a party: the request is not shown, not even its existence.
        raise RequestNotFound(f"No request has id {request_id}.")
    return request
