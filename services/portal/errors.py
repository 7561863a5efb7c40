"""Whatever goes wrong behind a page is answered with a page in Chinese, never a crash:
back to sign-in when the session is missing or ended, the 403 page when a role is missing,
a readable message when the API refuses or is away."""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.portal.exceptions import ApiProblem, ApiUnavailable, NotPermitted, SignInNeeded
from services.portal.pages import render
from services.portal.session import end_session, optional_viewer

log = logging.getLogger(__name__)


def sign_in_url(request: Request, *, expired: bool) -> str:
    """The sign-in page, told where the person was going and why they are asked."""
    return "/login?" + urlencode({"next": _wanted(request),
                                  "reason": "expired" if expired else "required"})


def _wanted(request: Request) -> str:
    """The page the person wanted: this one for a GET; for a form, the page it was on."""
    if request.method == "GET" and not request.headers.get("hx-request"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("hx-current-url") or request.headers.get("referer")
                       or "")
    same_site = referer.netloc in ("", request.url.netloc)
    return safe_next((referer.path + (f"?{referer.query}" if referer.query else ""))
                     if same_site else "/")


def safe_next(target: str | None) -> str:
    """`target` if it is a path of this site; "/" otherwise (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def redirect(request: Request, url: str) -> Response:
    """A redirect a browser follows, and htmx too (HX-Redirect: a whole new page)."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    response = redirect(request, sign_in_url(request, expired=exc.expired))
    if exc.expired:
        end_session(response, request)
    return response


async def _not_permitted(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotPermitted)
    return render(request, "error_forbidden.html.j2", viewer=await optional_viewer(request),
                  status=403, required_roles=exc.required_roles)


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("the API did not answer a page", extra={"error": str(exc)})
    return render(request, "error.html.j2", viewer=None, status=503,
                  heading="服务暂时不可用", message="平台服务暂时没有响应，请稍后刷新页面重试。")


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    heading = "没有找到" if exc.status == 404 else "操作未被接受"
    return render(request, "error.html.j2", viewer=await optional_viewer(request),
                  status=exc.status, heading=heading, message=exc.message, detail=exc.detail)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    found = exc.status_code != 404
    return render(request, "error.html.j2", viewer=await optional_viewer(request),
                  status=exc.status_code, heading="没有这个页面" if not found else "无法处理",
                  message="请检查网址，或从上方导航进入。" if not found
                  else "这个页面不接受这样的请求。")


async def _invalid(request: Request, exc: Exception) -> Response:
    return render(request, "error.html.j2", viewer=await optional_viewer(request), status=400,
                  heading="网址中的参数不正确", message="请从页面上的链接或表单进入。")


async def csrf_refused(request: Request) -> Response:
    """The answer to a form without the page's token (nothing was done)."""
    return render(request, "error.html.j2", viewer=None, status=403,
                  heading="表单已失效",
                  message="表单已过期或不是从本站页面提交的，未作任何处理。请刷新页面后重新提交。")


def install_page_handlers(app: FastAPI) -> None:
    """Answer the portal's failures with pages (in place of the API's problem bodies)."""
    for exception, handler in ((SignInNeeded, _sign_in), (NotPermitted, _not_permitted),
                               (ApiUnavailable, _unavailable), (ApiProblem, _problem),
                               (StarletteHTTPException, _http),
                               (RequestValidationError, _invalid)):
        app.add_exception_handler(exception, handler)
