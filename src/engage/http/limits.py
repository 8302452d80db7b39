"""Rate limits: a sliding window of units, and reserving several units for one call at once.

An API publishes its limits in requests (HubSpot: 100 per 10 s, and search apart at 5 a
second) or in units a method costs (Gmail: 15,000 a minute per user, a ``messages.get`` 5, a
batch of 50 of them 250). One :class:`RateLimiter` keeps either: a request takes one unit
unless it names more with :meth:`RateLimiter.units`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import attrs


@attrs.define
class RateLimiter:
    """At most ``limit`` units in any ``period`` seconds (a sliding window), shared by threads.

    Attributes:
        limit: Units allowed per window (requests, for an API that counts requests).
        period: The window, in seconds.
        clock: Monotonic seconds (tests pass a fake clock).
        sleep: How to wait.
    """

    limit: int
    period: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _spent: deque[tuple[float, int]] = attrs.field(factory=deque, init=False)
    _total: int = attrs.field(default=0, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def acquire(self, units: int = 1) -> None:
        """Wait until ``units`` more fit in the window, then count them all at once.

        Raises:
            ValueError: ``units`` is negative or more than the whole window holds.
        """
        if units < 0 or units > self.limit:
            msg = f"cannot reserve {units} units of a limit of {self.limit} per {self.period:g} s"
            raise ValueError(msg)
        while True:
            with self._lock:
                now = self.clock()
                while self._spent and now - self._spent[0][0] >= self.period:
                    self._total -= self._spent.popleft()[1]
                if self._total + units <= self.limit:
                    if units:
                        self._spent.append((now, units))
                        self._total += units
                    return
                wait = self._until_free(now, self._total + units - self.limit)
            self.sleep(max(wait, 0.001))

    def _until_free(self, now: float, needed: int) -> float:
        """Seconds until the oldest reservations holding ``needed`` units leave the window."""
        freed = 0
        for when, units in self._spent:
            freed += units
            if freed >= needed:
                return self.period - (now - when)
        return self.period  # pragma: no cover - needed never exceeds what the window holds

    def units(self, count: int) -> Units:
        """``count`` units of this limiter, reserved together by each try of one request."""
        return Units(self, count)


@attrs.frozen
class Units:
    """Several units of one limiter, for a request that costs more than one (pass it in
    ``limiters``): ``quota.units(5)`` for a Gmail ``messages.get``.

    Attributes:
        limiter: The limiter to reserve from.
        count: The units each try of the request costs.
    """

    limiter: RateLimiter
    count: int


#: What a request waits for: a limiter (one unit a try) or several of its units.
Limit = RateLimiter | Units


def acquire(limit: Limit) -> None:
    """Wait for one try's share of ``limit``."""
    if isinstance(limit, Units):
        limit.limiter.acquire(limit.count)
    else:
        limit.acquire()
