"""The inbox (站内信) pages: the list, the header's unread count, marking read, and the way
from a notice to the page where its work is done.

The notices are the portal's own records, read from its own database; who sees which is
decided from the person's token, verified here with the node's keys as every service
verifies tokens (not from what the page was told about the person).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from services.portal import inbox
from services.portal.deps import PAGE_SIZE, ViewerDep
from services.portal.errors import redirect
from services.portal.exceptions import SignInNeeded
from services.portal.inbox import Reader
from services.portal.models import Notice
from services.portal.notices import KIND_LABELS
from services.portal.pages import TEMPLATES, render
from services.portal.session import SESSION_COOKIE
from shared.deps import SessionDep
from shared.pagination import MAX_OFFSET, PageParams
from shared.problems import Unauthorized
from shared.tokens import TokenVerifier

router = APIRouter(prefix="/inbox", include_in_schema=False)


async def current_reader(request: Request) -> Reader:
    """Whose inbox: the claims of the session's token, verified (SignInNeeded otherwise)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInNeeded(expired=False)
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return Reader.of(await verifier.verify(token))
    except Unauthorized as error:
        raise SignInNeeded(expired=True) from error


ReaderDep = Annotated[Reader, Depends(current_reader)]


@router.get("")
async def inbox_page(request: Request, viewer: ViewerDep, reader: ReaderDep,
                     session: SessionDep, unread: bool = False,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
    """The person's notices, newest first; `unread` shows only those not yet read."""
    page = PageParams(limit=PAGE_SIZE, offset=offset)
    listed, total = await inbox.list_notices(session, reader, page, unread_only=unread)
    return render(request, "inbox.html.j2", viewer=viewer, unread_only=unread,
                  unread=await inbox.unread_count(session, reader), kinds=KIND_LABELS,
                  page=page.wrap(listed, total))


@router.get("/unread-count")
async def unread_badge(request: Request, reader: ReaderDep, session: SessionDep) -> Response:
    """The header's link to the inbox with the unread count (an htmx fragment)."""
    return TEMPLATES.TemplateResponse(request, "_inbox_badge.html.j2", context={
        "unread": await inbox.unread_count(session, reader)})


@router.post("/read-all")
async def read_all(request: Request, reader: ReaderDep, session: SessionDep) -> Response:
    await inbox.mark_all_read(session, reader)
    return redirect(request, "/inbox")


@router.get("/{notice_id}")
async def open_notice(notice_id: uuid.UUID, reader: ReaderDep, session: SessionDep,
                      request: Request) -> Response:
    """Mark the notice read and go to the page where its work is done."""
    notice = await _visible(session, reader, notice_id)
    await inbox.mark_read(session, reader, notice)
    return redirect(request, notice.link)


@router.post("/{notice_id}/read")
async def read_one(notice_id: uuid.UUID, reader: ReaderDep, session: SessionDep,
                   request: Request,
                   back: Annotated[str, Query(max_length=500)] = "/inbox") -> Response:
    await inbox.mark_read(session, reader, await _visible(session, reader, notice_id))
    return redirect(request, back if back.startswith("/inbox") else "/inbox")


async def _visible(session: SessionDep, reader: Reader, notice_id: uuid.UUID) -> Notice:
    """The notice, if the reader may see it; the 404 page otherwise (another department's
    notice is not said to exist)."""
    notice = await inbox.get_visible(session, reader, notice_id)
    if notice is None:
        raise HTTPException(404)
    return notice
