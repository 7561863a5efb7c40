"""Where notices are mailed: the node admin sets one notification address per department
(accounts carry no address of their own), and sees how the mail queue stands."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from services.portal.deps import PAGE_SIZE, ViewerDep
from services.portal.errors import redirect
from services.portal.exceptions import NotPermitted
from services.portal.inbox import Reader
from services.portal.inbox_router import ReaderDep
from services.portal.models import DepartmentName, MailAddress, NoticeMail
from services.portal.pages import render
from shared.contracts import Role
from shared.deps import SessionDep
from shared.pagination import MAX_OFFSET, PageParams

router = APIRouter(prefix="/admin/notice-mail", include_in_schema=False)

# One address, as a mail server takes it: no display name, no list (RFC 5321's 254 limit).
ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")


async def node_admin(reader: ReaderDep) -> Reader:
    if Role.node_admin not in reader.roles:
        raise NotPermitted(required_roles=[Role.node_admin.value])
    return reader


AdminDep = Annotated[Reader, Depends(node_admin)]


@router.get("")
async def addresses_page(request: Request, viewer: ViewerDep, admin: AdminDep,
                         session: SessionDep,
                         q: Annotated[str, Query(max_length=100)] = "",
                         offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
    """The departments (those whose name or code holds `q`) and their addresses."""
    return await _page(request, viewer, session, errors={}, offset=offset, q=q.strip())


@router.post("")
async def set_address(request: Request, viewer: ViewerDep, admin: AdminDep,
                      session: SessionDep, department: Annotated[str, Form()] = "",
                      address: Annotated[str, Form()] = "") -> Response:
    """Set (or, empty, remove) a department's notification address."""
    department, address = department.strip(), address.strip()
    errors: dict[str, str] = {}
    known = CREDIT_CODE.match(department) and await session.get(DepartmentName, department)
    if not known:
        errors["department"] = "请选择本节点登记的部门。"
    if address and (len(address) > 254 or not ADDRESS.match(address)):
        errors[f"address-{department}" if known else "form"] = "邮箱地址格式不正确。"
    if errors:  # the department's row is shown, with the message at its field
        return await _page(request, viewer, session, errors=errors, status=422,
                           q=department if known else "")
    if address:
        values = {"department": department, "address": address, "set_by": admin.username}
        await session.execute(insert(MailAddress).values(**values).on_conflict_do_update(
            index_elements=[MailAddress.department], set_={**values, "set_at": func.now()}))
    else:
        await session.execute(delete(MailAddress).where(MailAddress.department == department))
    return redirect(request, f"/admin/notice-mail?saved=1&q={department}")


async def _page(request: Request, viewer: ViewerDep, session: SessionDep,
                errors: dict[str, str], status: int = 200, offset: int = 0,
                q: str = "") -> Response:
    page = PageParams(limit=PAGE_SIZE, offset=offset)
    query = (select(DepartmentName.credit_code, DepartmentName.name, MailAddress.address)
             .outerjoin(MailAddress, MailAddress.department == DepartmentName.credit_code))
    if q:
        query = query.where(DepartmentName.name.icontains(q, autoescape=True)
                            | DepartmentName.credit_code.icontains(q, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(query.order_by(DepartmentName.name, DepartmentName.credit_code)
                                 .limit(page.limit).offset(page.offset))
    waiting = NoticeMail.sent_at.is_(None) & NoticeMail.given_up_at.is_(None)
    queue = (await session.execute(select(
        func.count().filter(waiting), func.count().filter(NoticeMail.given_up_at.is_not(None)),
        func.count().filter(NoticeMail.sent_at.is_not(None))))).one()
    last_error = await session.scalar(
        select(NoticeMail.last_error).where(waiting, NoticeMail.last_error.is_not(None))
        .order_by(NoticeMail.next_attempt_at.desc()).limit(1))
    settings = request.app.state.runtime.settings
    return render(request, "inbox_mail.html.j2", viewer=viewer, status=status,
                  departments=page.wrap(rows.all(), int(total or 0)), errors=errors,
                  mails=settings.mails,
                  smtp_host=settings.smtp_host, saved=request.query_params.get("saved"), q=q,
                  queue={"waiting": queue[0], "given_up": queue[1], "sent": queue[2]},
                  last_error=last_error)
