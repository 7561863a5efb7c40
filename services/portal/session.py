"""Who is signed in: the session cookie holds the person's API token, nothing else.

The cookie is HttpOnly (no script reads it) and SameSite=Strict (no other site's page sends
it), Secure when the page came over TLS. Who the token belongs to (name, department, roles)
is the API's answer at /me, kept for a short while so a page costs one call less.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from services.portal.api import NodeApi
from services.portal.exceptions import NotPermitted, SignInNeeded

SESSION_COOKIE = "govshare_session"
WHO = "/api/authorization/me"


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as a page needs them."""

    token: str
    username: str
    display_name: str
    department: str | None
    department_name: str | None
    roles: tuple[str, ...]
    expires_at: int

    def has_any(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


class Viewers:
    """Tokens to the people they belong to, each remembered for `seconds` (never past the
    token's own expiry), at most `size` of them."""

    def __init__(self, api: NodeApi, *, seconds: float, size: int = 2048) -> None:
        self.api, self.seconds, self.size = api, seconds, size
        self._known: OrderedDict[str, tuple[float, Viewer]] = OrderedDict()

    async def of(self, token: str) -> Viewer:
        """The person `token` belongs to; SignInNeeded(expired) if the API refuses it."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        known = self._known.get(key)
        if known and known[0] > now and known[1].expires_at > now:
            return known[1]
        viewer = _viewer(token, await self.api.get(WHO, token=token))
        self._known[key] = (now + self.seconds, viewer)
        while len(self._known) > self.size:
            self._known.popitem(last=False)
        return viewer

    def forget(self, token: str) -> None:
        self._known.pop(hashlib.sha256(token.encode()).hexdigest(), None)


def _viewer(token: str, who: dict[str, Any]) -> Viewer:
    return Viewer(token=token, username=who["subject"],
                  display_name=who.get("display_name") or who["subject"],
                  department=who.get("department"), department_name=who.get("department_name"),
                  roles=tuple(who.get("roles", [])), expires_at=int(who["expires_at"]))


def over_tls(request: Request) -> bool:
    """Whether the person's browser reached the node over TLS (the Ingress says so)."""
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip().lower() == "https"


def keep_session(response: Response, request: Request, token: str, seconds: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=seconds, httponly=True,
                        samesite="strict", secure=over_tls(request), path="/")


def end_session(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict",
                           secure=over_tls(request), path="/")


async def optional_viewer(request: Request) -> Viewer | None:
    """The signed-in person, or None (no session, or one the API no longer takes)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return await request.app.state.viewers.of(token)
    except SignInNeeded:
        return None


async def current_viewer(request: Request) -> Viewer:
    """The signed-in person; SignInNeeded sends anyone else to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInNeeded(expired=False)
    return await request.app.state.viewers.of(token)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]


def with_role(*roles: str) -> Any:
    """A dependency: the signed-in person, who must hold one of `roles` (the 403 page
    otherwise). The API decides again on every call; this spares a page that cannot work."""

    async def dependency(viewer: ViewerDep) -> Viewer:
        if not viewer.has_any(*roles):
            raise NotPermitted(required_roles=list(roles))
        return viewer

    return Depends(dependency)
