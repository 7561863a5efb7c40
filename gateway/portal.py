"""The portal's pages behind the gateway: every path the gateway does not answer itself.

The API keeps its paths (`/api/…`, `/oauth/…`, `/auth/…`, `/.well-known/…`, `/open-data/…`,
`/docs`, `/health…`, federation); whatever else a browser asks for, `/` first, is a page of
the portal, passed on as it came (cookies, forms) with the caller's address as the gateway
determined it. The portal then calls the API back here, as the person signed in.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from gateway.proxy import ServiceProxy
from shared.problems import RETRY_AFTER_UNAVAILABLE

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
                                 self.portal_url + target + (f"?{query}" if query else ""),
                                 unanswered=_portal_away)


# What a person sees while the portal is away (restarting, say): a page, in Chinese, that
# says to wait, not the API's problem document.
AWAY_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{retry}"><title>门户暂时无法访问</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem">
<h1>门户暂时无法访问</h1>
<p>网站正在恢复，请稍候；本页将在 {retry} 秒后自动刷新。</p>
<p>刚提交的表单如未见结果，请在恢复后先查看，再决定是否重新提交。</p>
</body></html>"""


async def _portal_away(send: Send, scope: Scope, error: Exception) -> None:
    body = AWAY_PAGE.format(retry=RETRY_AFTER_UNAVAILABLE).encode()
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", RETRY_AFTER_UNAVAILABLE.encode())]})
    await send({"type": "http.response.body", "body": body})
