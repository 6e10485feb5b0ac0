"""Connection slots: what ``--concurrency`` bounds while speech renders.

The unit of concurrency is the request to the speech service, not the turn. An engine that
splits a turn into several requests (edge) takes one slot per request, so a long turn's
requests spread over free connections instead of running one after another on one. Every
request of a render shares one ``Slots``, so the total stays the bound. Waiting requests
are served heaviest first (longest processing time first): the long work starts early and
the short work fills the gaps at the end, which is what keeps all connections busy until
the last moment.

``render_turns_async`` makes the ``Slots`` and shares it through a context variable, so an
engine's interface need not carry it; an engine used on its own (no render around it)
gets one slot of its own, i.e. one request at a time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar


class Slots:
    """A semaphore whose waiters are woken by weight (heaviest first), then in order."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("at least one slot")
        self.count = count
        self._free = count
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._closed = False
        self._hand_out_soon = False
        self.in_use_peak = 0

    @asynccontextmanager
    async def hold(self, weight: float = 0.0) -> AsyncIterator[None]:
        """One slot for the duration of the block; ``weight`` (e.g. bytes of text) decides
        who goes first when several wait."""
        await self._acquire(weight)
        try:
            yield
        finally:
            self._release()

    def close(self) -> None:
        """Hand out no more slots: every waiter, now or later, is cancelled, while whoever
        holds a slot carries on (a failed build lets the requests under way finish, so
        their turns reach the cache, and starts no new ones)."""
        self._closed = True
        for _weight, _order, granted in self._waiting:
            granted.cancel()
        self._waiting.clear()

    async def _acquire(self, weight: float) -> None:
        if self._closed:
            raise asyncio.CancelledError
        loop = asyncio.get_running_loop()
        granted: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiting, (-weight, next(self._order), granted))
        if not self._hand_out_soon:
            # on the next turn of the loop, not now: requests that start together all
            # queue first, so the heaviest of them, not the first to ask, gets a free slot
            self._hand_out_soon = True
            loop.call_soon(self._deferred_hand_out)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # the slot was handed over as we were cancelled: pass it on
            raise

    def _take(self) -> None:
        self._free -= 1
        self.in_use_peak = max(self.in_use_peak, self.count - self._free)

    def _release(self) -> None:
        self._free += 1
        self._hand_out()

    def _deferred_hand_out(self) -> None:
        self._hand_out_soon = False
        self._hand_out()

    def _hand_out(self) -> None:
        """Free slots to the heaviest live waiters."""
        while self._free > 0 and self._waiting:
            _weight, _order, granted = heapq.heappop(self._waiting)
            if not granted.done():  # a cancelled waiter's future is done: skip it
                self._take()
                granted.set_result(None)


_shared: ContextVar[Slots | None] = ContextVar("duopod_speech_slots", default=None)


@contextmanager
def sharing(slots: Slots) -> Iterator[Slots]:
    """Make ``slots`` the ones every task started inside the block takes from."""
    token = _shared.set(slots)
    try:
        yield slots
    finally:
        _shared.reset(token)


def shared_or_own() -> Slots:
    """The render's shared slots, or (an engine called on its own) a single private one."""
    return _shared.get() or Slots(1)
