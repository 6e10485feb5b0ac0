"""Telling podcast apps a feed changed, once it is in place: a WebSub publish ping to the
show's hub and/or a podping-style notification address. Best effort with bounded retries:
a hub that is down never undoes a deploy, it is reported."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from ..urls import redact_url

ATTEMPTS = 3
TIMEOUT_SECONDS = 10.0


def _send(request: urllib.request.Request, delays: tuple[float, ...]) -> str | None:
    """None when the request got a 2xx answer within ``ATTEMPTS``; else the last problem."""
    problem = "not sent"
    for attempt in range(ATTEMPTS):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:  # noqa: S310
                if 200 <= reply.status < 300:
                    return None
                problem = f"HTTP {reply.status}"
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                return problem  # our request is wrong: asking again will not help
        except (urllib.error.URLError, OSError) as exc:
            problem = str(getattr(exc, "reason", exc))
        if attempt < ATTEMPTS - 1:
            time.sleep(delays[min(attempt, len(delays) - 1)])
    return problem


def websub_ping(hub: str, feed_url: str, delays: tuple[float, ...] = (0.5, 2.0)
                ) -> str | None:
    """POST hub.mode=publish&hub.url=<feed> (WebSub section 9, as hubs take it)."""
    body = urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode("ascii")
    request = urllib.request.Request(  # noqa: S310 (http(s): checked in targets)
        hub, data=body, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "User-Agent": "duopod-deploy"})
    problem = _send(request, delays)
    return None if problem is None else f"WebSub hub {redact_url(hub)}: {problem}"


def podping(ping_url: str, feed_url: str, delays: tuple[float, ...] = (0.5, 2.0)
            ) -> str | None:
    """GET <ping_url>?url=<feed> (the podping.cloud form)."""
    joiner = "&" if "?" in ping_url else "?"
    request = urllib.request.Request(  # noqa: S310 (http(s): checked in targets)
        f"{ping_url}{joiner}url={quote(feed_url, safe='')}",
        headers={"User-Agent": "duopod-deploy"})
    problem = _send(request, delays)
    return None if problem is None else f"ping {redact_url(ping_url)}: {problem}"
