"""Requests for shared data (A1–A4) and their state machine [51 §12, JS §16].

    unconditional ──▶ approved (grant at once, A1)
    conditional   ──▶ submitted ──(answer)──▶ approved | rejected ──▶ negotiating
                          │                                              │
                          └─(due date passes)─▶ overdue ──(answer)──▶ …  │
                                                   └──────────────┬─────┘
    not_shared    ──▶ negotiating ──(provider agrees)──▶ approved  │
                                                                   ▼
                                                escalated ──(arbiter)──▶ decided

Every open request may be withdrawn. Changes lock the request row, so two reviewers answering
at once give one answer and one 409. Every change is a transition row and an event carrying
the full snapshot.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.authorization import arbitration, grants
from services.authorization.deadlines import answer_due_on, working_calendar
from services.authorization.exceptions import (
    NotAParty,
    RequestNotFound,
    ResourceUnknown,
    ResourceWithdrawn,
    SharingRuleViolation,
)
from services.authorization.models import (
    RequestMessage,
    RequestTransition,
    SharedResource,
    ShareRequest,
)
from services.authorization.schemas import (
    AnswerCreate,
    DecisionCreate,
    RequestCreate,
    TermsNarrowing,
)
from shared.contracts.catalog import EntryStatus, ShareType
from shared.contracts.sharing import (
    AccessTerms,
    Answer,
    ArbiterDecision,
    Escalation,
    NegotiationOpened,
    RequestAnswered,
    RequestDecided,
    RequestEscalated,
    RequestEvent,
    RequestMessagePosted,
    RequestOverdue,
    RequestSnapshot,
    RequestStatus,
    RequestSubmitted,
    RequestWithdrawn,
)
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page
from shared.problems import IllegalTransition
from shared.workdays import china_date

S = RequestStatus
TRANSITIONS: dict[RequestStatus, set[RequestStatus]] = {
    S.submitted: {S.approved, S.rejected, S.overdue, S.withdrawn},
    S.overdue: {S.approved, S.rejected, S.escalated, S.withdrawn},
    S.rejected: {S.negotiating, S.withdrawn},
    # A negotiation ends in agreement (the provider approves) or before the arbiter.
    S.negotiating: {S.approved, S.escalated, S.withdrawn},
    S.escalated: {S.decided, S.withdrawn},
    S.approved: set(),
    S.decided: set(),
    S.withdrawn: set(),
}
OPEN = {status for status, targets in TRANSITIONS.items() if targets}
RESTRICTIVENESS = [ShareType.unconditional, ShareType.conditional, ShareType.not_shared]
LONGEST_PERIOD = timedelta(days=3 * 366)


def snapshot(request: ShareRequest) -> RequestSnapshot:
    return RequestSnapshot.model_validate(request, from_attributes=True)


async def submit(session: AsyncSession, outbox: Outbox, body: RequestCreate, *, consumer: str,
                 actor: str, node: str, answer_workdays: int, now: datetime) -> ShareRequest:
    """File a request; an unconditional one is granted at once (A1), a conditional one gets
    its due date (A2), a not-shared one opens a negotiation (A3)."""
    resource = await _requestable(session, body.entry_code)
    _check_request(body, resource, consumer, china_date(now))
    path = max((ShareType(resource.share_type),
                *(ShareType(resource.item_share_types[i]) for i in body.items)),
               key=RESTRICTIVENESS.index)
    request = ShareRequest(
        id=uuid.uuid4(), node=node, consumer=consumer, provider=resource.provider,
        entry_code=resource.code, entry_name=resource.name, share_type=path,
        legal_basis=body.legal_basis, purpose=body.purpose, items=list(body.items),
        methods=list(body.methods), valid_until=body.valid_until, status=S.submitted,
        version=1, submitted_by=actor, submitted_at=now, due_on=None, calendar_basis=[],
    )
    if path == ShareType.conditional:
        calendar = await working_calendar(session)
        request.due_on, request.calendar_basis = answer_due_on(calendar, now, answer_workdays)
    elif path == ShareType.not_shared:
        request.status = S.negotiating
    session.add(request)
    await session.flush()  # before the rows that refer to it
    _record(session, request, None, actor, body.message)
    if body.message:
        session.add(RequestMessage(request_id=request.id, sender=consumer, author=actor,
                                   body=body.message))
    if path == ShareType.unconditional:
        terms = AccessTerms(items=request.items, valid_until=request.valid_until)
        await _grant(session, outbox, request, resource, terms, S.approved, grants.PLATFORM, now)
        request.answer = _answer(True, None, grants.PLATFORM, now, late=False)
    await _announce(session, outbox, request, RequestSubmitted, actor)
    return request


async def answer(session: AsyncSession, outbox: Outbox, request: ShareRequest,
                 body: AnswerCreate, *, provider: str | None, actor: str,
                 now: datetime) -> ShareRequest:
    """The provider's answer: approve (possibly narrowed) or reject with a reason (A2)."""
    _require_party(request, provider, "provider")
    reason = (body.reason or "").strip() or None
    if not body.approve and reason is None:
        raise SharingRuleViolation(
            "A refusal must state its reason [51 §12: 对不予共享的，提供部门应说明理由].",
            field="reason", rule="A2", article="51 §12")
    if not body.approve and request.status == S.negotiating:
        raise IllegalTransition(
            "A negotiation ends in agreement or before the arbiter: approve, or let the "
            "consumer escalate.", current_state=request.status)
    late = request.due_on is not None and china_date(now) > request.due_on
    target = S.approved if body.approve else S.rejected
    _check_can(request, target)
    request.answer = _answer(body.approve, reason, actor, now, late)
    if body.approve:
        resource = await _requestable(session, request.entry_code)
        terms = _narrowed_terms(request, body, resource, china_date(now))
        await _grant(session, outbox, request, resource, terms, target, actor, now)
    else:
        _move(session, request, target, actor, reason)
    await _announce(session, outbox, request, RequestAnswered, actor)
    return request


async def open_negotiation(session: AsyncSession, outbox: Outbox, request: ShareRequest, *,
                           consumer: str | None, actor: str, message: str) -> ShareRequest:
    """After a refusal the consumer opens a negotiation with the provider (A3)."""
    _require_party(request, consumer, "consumer")
    _move(session, request, S.negotiating, actor, message)
    session.add(RequestMessage(request_id=request.id, sender=request.consumer, author=actor,
                               body=message))
    await _announce(session, outbox, request, NegotiationOpened, actor)
    return request


async def post_message(session: AsyncSession, outbox: Outbox, request: ShareRequest, *,
                       department: str | None, is_arbiter: bool, actor: str,
                       body: str) -> RequestMessage:
    """A message between the parties (or from the arbiter the case went to) on an open
    request."""
    if department in (request.consumer, request.provider):
        sender = department
    elif is_arbiter and request.status == S.escalated:
        await arbitration.require_arbiter_of(session, request, department)
        sender = "arbiter"
    else:
        raise NotAParty("Only the two departments (and the arbiter, once escalated) may write "
                        "on this request.", reason="not_party")
    if request.status not in OPEN:
        raise IllegalTransition(f"The request is {request.status}; it takes no more messages.",
                                current_state=request.status)
    message = RequestMessage(request_id=request.id, sender=sender, author=actor, body=body)
    session.add(message)
    request.version += 1
    await session.flush()
    await outbox.add(session, str(request.id), RequestMessagePosted(
        request=snapshot(request), actor=actor, sender=sender, body=body))
    return message


async def escalate(session: AsyncSession, outbox: Outbox, request: ShareRequest, *,
                   department: str | None, actor: str, reason: str,
                   now: datetime) -> ShareRequest:
    """Take an unresolved negotiation (or an unanswered request) to the arbiter: the
    coordinating body when a national or provincial department is a party, the tier's
    competent authority otherwise."""
    if department not in (request.consumer, request.provider):
        raise NotAParty("Only the consumer or the provider may escalate this request "
                        "[51 §12].", reason="not_party")
    _check_can(request, S.escalated)
    request.escalation = Escalation(
        arbiter=await arbitration.route(session, request.consumer, request.provider),
        escalated_by=department, reason=reason,
        escalated_at=now,
    ).model_dump(mode="json")
    _move(session, request, S.escalated, actor, reason)
    await _announce(session, outbox, request, RequestEscalated, actor)
    return request


async def decide(session: AsyncSession, outbox: Outbox, request: ShareRequest,
                 body: DecisionCreate, *, department: str | None, actor: str,
                 now: datetime) -> ShareRequest:
    """The final decision of an arbiter of the body the case went to; if it orders sharing,
    the grant is issued (A3)."""
    _check_can(request, S.decided)
    await arbitration.require_arbiter_of(session, request, department)
    request.decision = ArbiterDecision(grant=body.grant, reason=body.reason, decided_by=actor,
                                       decided_at=now).model_dump(mode="json")
    if body.grant:
        resource = await _requestable(session, request.entry_code)
        terms = _narrowed_terms(request, body, resource, china_date(now))
        await _grant(session, outbox, request, resource, terms, S.decided, actor, now)
    else:
        _move(session, request, S.decided, actor, body.reason)
    await _announce(session, outbox, request, RequestDecided, actor)
    return request


async def withdraw(session: AsyncSession, outbox: Outbox, request: ShareRequest, *,
                   consumer: str | None, actor: str, reason: str | None) -> ShareRequest:
    _require_party(request, consumer, "consumer")
    return await _close(session, outbox, request, actor, reason or "Withdrawn by the consumer.")


async def close_for_withdrawn_entry(session: AsyncSession, outbox: Outbox, entry_code: str,
                                    reason: str) -> None:
    """A withdrawn entry takes no more requests; the open ones are closed."""
    open_requests = await session.scalars(
        select(ShareRequest).where(ShareRequest.entry_code == entry_code,
                                   ShareRequest.status.in_(OPEN)).with_for_update())
    for request in list(open_requests):
        await _close(session, outbox, request, grants.PLATFORM, reason)


async def mark_overdue(session: AsyncSession, outbox: Outbox, now: datetime,
                       batch: int = 500) -> int:
    """Requests still unanswered after their due date become overdue, and the provider is
    reminded by the event (A4). Safe on several replicas at once."""
    late = await session.scalars(
        select(ShareRequest).where(ShareRequest.status == S.submitted,
                                   ShareRequest.due_on < china_date(now))
        .order_by(ShareRequest.due_on).limit(batch).with_for_update(skip_locked=True))
    marked = list(late)
    for request in marked:
        _move(session, request, S.overdue, grants.PLATFORM,
              f"No answer by {request.due_on}: counts against the provider (JS §25(三)).")
        request.overdue_at = now
        await _announce(session, outbox, request, RequestOverdue, grants.PLATFORM)
    return len(marked)


async def get(session: AsyncSession, request_id: uuid.UUID, *, for_update: bool = False
              ) -> ShareRequest:
    request = await session.get(ShareRequest, request_id, with_for_update=for_update,
                                populate_existing=for_update)
    if request is None:
        raise RequestNotFound(f"No request has id {request_id}.")
    return request


async def history(session: AsyncSession, request_id: uuid.UUID
                  ) -> tuple[list[RequestTransition], list[RequestMessage]]:
    transitions = await session.scalars(select(RequestTransition).where(
        RequestTransition.request_id == request_id).order_by(RequestTransition.id))
    messages = await session.scalars(select(RequestMessage).where(
        RequestMessage.request_id == request_id).order_by(RequestMessage.id))
    return list(transitions), list(messages)


async def list_requests(session: AsyncSession, page: PageParams, *, as_consumer: str | None,
                        as_provider: str | None, parties: str | None,
                        status: list[RequestStatus], entry_code: str | None,
                        ) -> tuple[list[ShareRequest], int]:
    """Requests filtered by side, state and entry; the most urgent deadline first."""
    query = select(ShareRequest)
    if as_consumer:
        query = query.where(ShareRequest.consumer == as_consumer)
    if as_provider:
        query = query.where(ShareRequest.provider == as_provider)
    if parties:
        query = query.where((ShareRequest.consumer == parties)
                            | (ShareRequest.provider == parties))
    if status:
        query = query.where(ShareRequest.status.in_(status))
    if entry_code:
        query = query.where(ShareRequest.entry_code == entry_code)
    order = (ShareRequest.due_on.asc().nulls_last(), ShareRequest.submitted_at.desc(),
             ShareRequest.id)
    return await fetch_page(session, query.order_by(*order), page)


# --- rules -----------------------------------------------------------------------------------


async def _resource(session: AsyncSession, entry_code: str) -> SharedResource:
    resource = await session.get(SharedResource, entry_code)
    if resource is None:
        raise ResourceUnknown(f"No published catalog entry has code {entry_code}.",
                              field="entry_code")
    return resource


async def _requestable(session: AsyncSession, entry_code: str) -> SharedResource:
    resource = await _resource(session, entry_code)
    if resource.status == EntryStatus.withdrawn:
        raise ResourceWithdrawn(f"Catalog entry {entry_code} was withdrawn; it takes no "
                                "requests.", field="entry_code")
    if resource.status != EntryStatus.published:
        raise ResourceUnknown(f"Catalog entry {entry_code} is not published.",
                              field="entry_code")
    return resource


def _check_request(body: RequestCreate, resource: SharedResource, consumer: str,
                   today: date) -> None:
    if consumer == resource.provider:
        raise SharingRuleViolation("A department does not request its own resource.",
                                   field="entry_code", rule="A2", article="51 §12")
    unknown = [item for item in body.items if item not in resource.item_share_types]
    if unknown:
        raise SharingRuleViolation(
            f"The entry has no info items {', '.join(unknown)}.", field="items", rule="A2",
            article="51 §12", catalogued_items=sorted(resource.item_share_types))
    if resource.permitted_uses and body.purpose not in resource.permitted_uses:
        raise SharingRuleViolation(
            f"The provider does not permit use for {body.purpose}; permitted: "
            f"{', '.join(resource.permitted_uses)} [51 §14: 只能按照明确的使用用途].",
            field="purpose", rule="C4", article="51 §12, §14",
            permitted_uses=resource.permitted_uses)
    offered = set(resource.methods)
    if offered and not set(body.methods) <= offered:
        raise SharingRuleViolation(
            f"The provider offers {', '.join(resource.methods)} only.", field="methods",
            rule="C5", article="51 §12")
    _check_period(body.valid_until, today, "valid_until")


def _check_period(valid_until: date, today: date, field: str) -> None:
    if not today < valid_until <= today + LONGEST_PERIOD:
        raise SharingRuleViolation(
            f"The period must end after today and within three years ({valid_until}).",
            field=field, rule="A5", article="733 八")


def _narrowed_terms(request: ShareRequest, body: TermsNarrowing, resource: SharedResource,
                    today: date) -> AccessTerms:
    """The grant's terms: what was asked for, narrowed by the answer or decision."""
    items = body.items if body.items is not None else request.items
    extra = sorted(set(items) - set(request.items))
    if extra:
        raise SharingRuleViolation(f"The grant may narrow, never widen, the request: "
                                   f"{', '.join(extra)} were not asked for.",
                                   field="items", rule="A2", article="51 §12")
    unknown = sorted({c.item for c in body.row_filter} - set(resource.item_share_types))
    if unknown:
        raise SharingRuleViolation(f"The row filter names items the entry does not have: "
                                   f"{', '.join(unknown)}.", field="row_filter", rule="A2",
                                   article="51 §12")
    valid_until = body.valid_until or request.valid_until
    if valid_until > request.valid_until:
        raise SharingRuleViolation("The grant may end earlier than asked, never later.",
                                   field="valid_until", rule="A2", article="51 §12")
    _check_period(valid_until, today, "valid_until")
    return AccessTerms(items=items, row_filter=body.row_filter,
                       rate_limit_per_minute=body.rate_limit_per_minute,
                       valid_until=valid_until)


def _require_party(request: ShareRequest, department: str | None, side: str) -> None:
    if department != getattr(request, side):
        raise NotAParty(f"Only the request's {side} may do this.", reason=f"not_{side}")


def _check_can(request: ShareRequest, target: RequestStatus) -> None:
    if target not in TRANSITIONS[RequestStatus(request.status)]:
        raise IllegalTransition(f"A request in state {request.status} cannot become {target}.",
                                current_state=request.status)


def _move(session: AsyncSession, request: ShareRequest, target: RequestStatus, actor: str,
          note: str | None) -> None:
    _check_can(request, target)
    previous = request.status
    request.status, request.version = target, request.version + 1
    _record(session, request, previous, actor, note)


def _record(session: AsyncSession, request: ShareRequest, previous: str | None, actor: str,
            note: str | None) -> None:
    session.add(RequestTransition(request_id=request.id, from_status=previous,
                                  to_status=request.status, actor=actor, note=note))


def _answer(approved: bool, reason: str | None, actor: str, now: datetime,
            late: bool) -> dict[str, object]:
    return Answer(approved=approved, reason=reason, answered_by=actor, answered_at=now,
                  late=late).model_dump(mode="json")


async def _grant(session: AsyncSession, outbox: Outbox, request: ShareRequest,
                 resource: SharedResource, terms: AccessTerms, target: RequestStatus,
                 actor: str, now: datetime) -> None:
    if request.status != target:
        _move(session, request, target, actor, None)
    await session.flush()
    grant = await grants.issue(session, outbox, request, terms, sensitive=resource.sensitive,
                               actor=actor, now=now)
    request.grant_id, request.terms = grant.id, terms.model_dump(mode="json")


async def _close(session: AsyncSession, outbox: Outbox, request: ShareRequest, actor: str,
                 reason: str) -> ShareRequest:
    _move(session, request, S.withdrawn, actor, reason)
    request.closed_reason = reason
    await _announce(session, outbox, request, RequestWithdrawn, actor)
    return request


async def _announce(session: AsyncSession, outbox: Outbox, request: ShareRequest,
                    event: type[RequestEvent], actor: str) -> None:
    await session.flush()
    await outbox.add(session, str(request.id), event(request=snapshot(request), actor=actor))
