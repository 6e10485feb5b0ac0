"""Who may talk to the studio, and how: the studio can rewrite scripts and publish, so a
page on another site, a rebinding DNS name or another machine on the LAN must get nothing.

- On a loopback bind the Host header must name loopback (a DNS-rebinding page's requests
  carry its own host name); elsewhere every request needs the access token, given once as
  ``?token=`` (then kept in an HttpOnly, SameSite=Strict cookie) or as a Bearer header.
- Every state-changing request (anything but GET and HEAD) carries the anti-CSRF token the
  pages embed, and an Origin, when sent, that is the studio's own.
- Every answer, however it was made (a page, a file of the ``/site/`` preview streamed by
  the preview server's handler, server-sent events), goes out with nosniff, no referrer,
  same-origin framing and a Content-Security-Policy, set as its headers are sent
  (``on_response_prepare``): the preview's pages get one that lets their inline styles
  apply but runs none of their scripts, since a page on the studio's origin could
  otherwise script the editor around it.
- The redirect that takes the token out of the address goes to a path on the studio, never
  to a ``//host`` or ``/\\host`` that a browser reads as another site.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

TOKEN_ENV = "DUOPOD_STUDIO_TOKEN"  # noqa: S105 (the variable's name, not a secret)
COOKIE = "duopod_studio"
CSRF_HEADER = "X-Duopod-CSRF"
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::([0-9]{1,5}))?")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Guard:
    """The studio's secrets for one run: ``token`` (None: loopback, no token needed) and
    the anti-CSRF token every page carries."""

    token: str | None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    loopback: bool = True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _same(given: str | None, wanted: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), wanted.encode())


def host_allowed(host_header: str) -> bool:
    """A loopback studio answers only requests addressed to loopback by name or number."""
    match = _HOST.fullmatch(host_header.strip())
    return match is not None and is_loopback(match.group(1).lower())


def _presented_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ").strip()
    return request.query.get("token") or request.cookies.get(COOKIE)


def guard_middleware(guard: Guard) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = refusal(guard, request)
        if refused is not None:
            return refused
        if guard.token is not None and "token" in request.query:
            # the token came in the address: keep it in a cookie, and take it out of the
            # address bar (and of the history) at once
            redirect = web.Response(status=303, headers={"Location": same_site_location(
                request)})
            redirect.set_cookie(COOKIE, guard.token, httponly=True, samesite="Strict",
                                path="/")
            return redirect
        return await handler(request)

    return middleware


def same_site_location(request: web.Request) -> str:
    """The request's own path and query without ``token``, as a path on this server: the
    leading slashes and backslashes a browser would read as ``//another.host`` folded into
    one, and control characters and spaces (which browsers drop from addresses, turning
    ``/\t/evil`` into ``//evil``) percent-encoded."""
    path = _UNSAFE.sub(lambda m: f"%{ord(m.group()):02X}", request.rel_url.raw_path)
    location = "/" + path.lstrip("/")
    query = request.rel_url.with_query(
        {k: v for k, v in request.query.items() if k != "token"}).raw_query_string
    return f"{location}?{query}" if query else location


_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
               "data:; media-src 'self' blob:; frame-src 'self'; frame-ancestors 'self'; "
               "form-action 'self'; base-uri 'none'")
"""The studio's own pages: nothing inline, nothing from elsewhere."""
PREVIEW_POLICY = ("default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
                  "img-src 'self' data:; media-src 'self'; connect-src 'none'; "
                  "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; "
                  "object-src 'none'")
"""The site's pages in the preview: their inline styles apply, no script of theirs runs
(the player's sentence highlighting is the site's, live; the preview shows the page)."""
PREVIEW_PREFIX = "/site/"


def _previewed(request: web.BaseRequest) -> bool:
    """A request of the ``/site/`` route, or the clone of one the preview's handler answers
    (its path is the site's own, its route still the studio's)."""
    if request.path.startswith(PREVIEW_PREFIX):
        return True
    match = getattr(request, "match_info", None)
    resource = match.route.resource if match is not None else None
    return resource is not None and resource.canonical == PREVIEW_PREFIX + "{tail}"


async def set_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Every answer's security headers, set as they are sent (an aiohttp signal), so
    answers prepared inside a handler (files, streams) have them too."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    if _previewed(request):
        response.headers["Content-Security-Policy"] = PREVIEW_POLICY
    else:
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)


def refusal(guard: Guard, request: web.Request) -> web.Response | None:
    """The answer to a request that may not go on (None: it may)."""
    if guard.loopback and not host_allowed(request.headers.get("Host", "")):
        return web.Response(status=403, text="forbidden: not a loopback host name\n")
    if guard.token is not None and not _same(_presented_token(request), guard.token):
        return web.Response(status=401, text="the studio needs its access token\n",
                            headers={"WWW-Authenticate": 'Bearer realm="duopod studio"'})
    if request.method not in ("GET", "HEAD"):
        if not _same(request.headers.get(CSRF_HEADER), guard.csrf):
            return web.Response(status=403, text="forbidden: missing anti-CSRF token\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("Host"):
            return web.Response(status=403, text="forbidden: another site's request\n")
    return None
