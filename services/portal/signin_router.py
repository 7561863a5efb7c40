"""Signing in and out: the form posts here, the portal signs in at the gateway's
/auth/login and keeps the token in the session cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from services.portal.api import caller_headers
from services.portal.csrf import new_nonce, set_nonce
from services.portal.deps import ApiDep, OptionalViewerDep
from services.portal.errors import safe_next
from services.portal.exceptions import ApiProblem
from services.portal.pages import render
from services.portal.session import SESSION_COOKIE, end_session, keep_session

router = APIRouter(include_in_schema=False)

WHY = {"expired": "登录已过期，请重新登录。", "required": "请先登录。",
       "signed_out": "您已安全退出。"}


@router.get("/login")
async def login_page(request: Request, viewer: OptionalViewerDep, next: str = "/",
                     reason: str | None = None) -> Response:
    if viewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html.j2", viewer=None, next=safe_next(next),
                  notice=WHY.get(reason or ""), reason=reason, errors={}, username="")


@router.post("/login")
async def sign_in(request: Request, api: ApiDep, username: Annotated[str, Form()] = "",
                  password: Annotated[str, Form()] = "",
                  next: Annotated[str, Form()] = "/") -> Response:
    username = username.strip()
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = "请输入用户名。"
    if not password:
        errors["password"] = "请输入密码。"
    if not errors:
        try:
            answer = await api.login(username, password, caller_headers(request.headers))
        except ApiProblem as problem:
            errors = problem.fields or {"form": problem.message}
            if "form" not in errors and problem.slug in ("invalid-login", "login-locked"):
                errors["form"] = problem.message
        else:
            response = RedirectResponse(safe_next(next), status_code=303)
            keep_session(response, request, answer["access_token"], int(answer["expires_in"]))
            set_nonce(response, request, new_nonce())  # a new session, a new form token
            return response
    return render(request, "login.html.j2", viewer=None, status=422 if errors else 200,
                  next=safe_next(next), notice=None, reason=None, errors=errors,
                  username=username)


@router.post("/logout")
async def sign_out(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request.app.state.viewers.forget(token)
    response = RedirectResponse("/login?reason=signed_out", status_code=303)
    end_session(response, request)
    set_nonce(response, request, new_nonce())
    return response
