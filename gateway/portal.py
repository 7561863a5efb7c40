"""The portal's pages behind the gateway: every path the gateway does not answer itself.

The API keeps its paths (`/api/…`, `/oauth/…`, `/auth/…`, `/.well-known/…`, `/open-data/…`,
`/docs`, `/health…`, federation); whatever else a browser asks for, `/` first, is a page of
the portal, passed on as it came (cookies, forms) with the caller's address as the gateway
determined it. The portal then calls the API back here, as the person signed in.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from gateway.proxy import ServiceProxy

# Paths the gateway answers itself or routes to the services' APIs.
GATEWAY_PATHS = ("/api/", "/federation/", "/nodes/", "/oauth/", "/auth/", "/.well-known/",
                 "/open-data/", "/health", "/metrics", "/openapi.json", "/docs")
FORWARDED_HOST = b"x-forwarded-host"


def is_page(scope: Scope) -> bool:
    """Whether a call is for the portal: its path is none of the gateway's own."""
    path = str(scope["path"])
    return not any(path.startswith(prefix) or path == prefix.rstrip("/")
                   for prefix in GATEWAY_PATHS)


class PortalPages:
    """ASGI app forwarding a page's call to the portal over the proxy's pooled connections
    (no token needed: the portal signs people in, and the API checks every call it makes)."""

    def __init__(self, proxy: ServiceProxy, portal_url: str) -> None:
        self.proxy, self.portal_url = proxy, portal_url.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = (scope.get("raw_path") or str(scope["path"]).encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        headers = list(scope["headers"])
        if not any(name == FORWARDED_HOST for name, _ in headers):
            # The portal names the address people use (the API guide's examples).
            headers += [(FORWARDED_HOST, value) for name, value in headers if name == b"host"]
        await self.proxy.forward({**scope, "headers": headers}, receive, send,
                                 self.portal_url + target + (f"?{query}" if query else ""))
