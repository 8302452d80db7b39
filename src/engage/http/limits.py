"""Rate limits: a sliding window of units, and reserving several units for one call at once.

An API publishes its limits in requests (HubSpot: 100 per 10 s, and search apart at 5 a
second) or in units a method costs (Gmail: 15,000 a minute per user, a ``messages.get`` 5, a
batch of 50 of them 250). One :class:`RateLimiter` keeps either: a request takes one unit
unless it names more with :meth:`RateLimiter.units`.

A request's units count from the moment its answer came back (or its try failed), not from
the moment it was sent. An API counts a request when it arrives, somewhere between the two:
counted from the send, a window whose first request took longer on the way than its last
holds one request too many in the API's eyes, and the API answers 429 at the window's edge
(HubSpot then asks for a ten-second wait). Counted from the answer, the window can never
hold more than the limit, at the cost of one round trip per window.
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
    _spent: deque[Reservation] = attrs.field(factory=deque, init=False)
    _total: int = attrs.field(default=0, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def acquire(self, units: int = 1) -> Reservation | None:
        """Wait until ``units`` more fit in the window, then count them all at once.

        Returns the reservation (None for no units): :meth:`settle` it when the request's
        answer comes back, so the units count from then.

        Raises:
            ValueError: ``units`` is negative or more than the whole window holds.
        """
        if units < 0 or units > self.limit:
            msg = f"cannot reserve {units} units of a limit of {self.limit} per {self.period:g} s"
            raise ValueError(msg)
        while True:
            with self._lock:
                now = self.clock()
                while self._spent and now - self._spent[0].when >= self.period:
                    self._total -= self._spent.popleft().units
                if self._total + units <= self.limit:
                    if not units:
                        return None
                    reservation = Reservation(now, units)
                    self._spent.append(reservation)
                    self._total += units
                    return reservation
                wait = self._until_free(now, self._total + units - self.limit)
            self.sleep(max(wait, 0.001))

    def _until_free(self, now: float, needed: int) -> float:
        """Seconds until the oldest reservations holding ``needed`` units leave the window."""
        freed = 0
        for reservation in self._spent:
            freed += reservation.units
            if freed >= needed:
                return self.period - (now - reservation.when)
        return self.period  # pragma: no cover - needed never exceeds what the window holds

    def settle(self, reservation: Reservation | None) -> None:
        """Count ``reservation`` from now: its request's answer came back (or its try failed).

        Settling moves a reservation later, never earlier; one settled before an older one
        keeps the older in the window until both have left it (a wait a little longer than
        needed, never a window over the limit).
        """
        if reservation is not None:
            with self._lock:
                reservation.when = max(reservation.when, self.clock())

    def units(self, count: int) -> Units:
        """``count`` units of this limiter, reserved together by each try of one request."""
        return Units(self, count)


class Reservation:
    """Units counted in a window from ``when`` (the limiter's clock)."""

    __slots__ = ("units", "when")

    def __init__(self, when: float, units: int) -> None:
        self.when = when
        self.units = units


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


def acquire(limit: Limit) -> Reservation | None:
    """Wait for one try's share of ``limit``; returns its reservation (see :func:`settle`)."""
    if isinstance(limit, Units):
        return limit.limiter.acquire(limit.count)
    return limit.acquire()


def settle(limit: Limit, reservation: Reservation | None) -> None:
    """Count a try's ``reservation`` of ``limit`` from now, when its answer came back."""
    (limit.limiter if isinstance(limit, Units) else limit).settle(reservation)
