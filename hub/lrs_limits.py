"""How much one learner may ask of the room's LRS: body size, statements per request, rate.

The gate reads at most `max_body` bytes of a request (1 MiB, the spool's
own limit `incubo.events.MAX_BODY_BYTES`) and never keeps more in memory.
A longer body from a known caller within their rate is read to its end (up
to `drain_cap`) only to answer 413 cleanly; anyone else's (no credentials,
too fast) is cut at `max_body`: tornado answers 400 and closes the
connection. A request carries at most `max_statements` statements.

Each learner's account has two token buckets: requests (`burst` at once,
`per_second` after) and statements (`statements_burst`, then
`statements_per_second`). An empty bucket answers 429 with `Retry-After`:
the kernel's spool keeps the statements and sends them again later, with
the same ids, so nothing is lost and nothing doubled. Readers and the
grader are the hub's own services and are not limited.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from incubo.events import MAX_BODY_BYTES, MAX_STATEMENTS


@dataclass(frozen=True)
class Limits:
    """The gate's limits (one place; a test may pass its own)."""

    max_body: int = MAX_BODY_BYTES
    drain_cap: int = 16 * MAX_BODY_BYTES
    max_statements: int = MAX_STATEMENTS
    burst: float = 40.0
    per_second: float = 5.0
    statements_burst: float = float(MAX_STATEMENTS)
    statements_per_second: float = 50.0


class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second (monotonic clock)."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` tokens are there (0: take them now).

        A cost above the capacity passes when the bucket is full and leaves a debt.
        """
        self._refill()
        if cost <= self.tokens:
            return 0.0
        return (min(cost, self.capacity) - self.tokens) / self.rate

    def take(self, cost: float) -> float:
        """Take `cost` tokens and return 0, or take nothing and return the seconds to wait."""
        wait = self.wait_for(cost)
        if wait == 0.0:
            self.tokens -= cost
        return wait


class RateLimiter:
    """One request bucket and one statement bucket per learner (only authenticated names get one)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._requests: dict[str, TokenBucket] = {}
        self._statements: dict[str, TokenBucket] = {}

    def request(self, name: str) -> int:
        """0 when `name` may make a request now, else the seconds to wait (`Retry-After`)."""
        bucket = self._requests.get(name)
        if bucket is None:
            bucket = self._requests[name] = TokenBucket(self.limits.burst, self.limits.per_second)
        return _seconds(bucket.take(1))

    def statements(self, name: str, count: int) -> int:
        """0 when `name` may store `count` statements now, else the seconds to wait."""
        bucket = self._statements.get(name)
        if bucket is None:
            bucket = self._statements[name] = TokenBucket(
                self.limits.statements_burst, self.limits.statements_per_second
            )
        return _seconds(bucket.take(count))


def _seconds(wait: float) -> int:
    return 0 if wait <= 0 else max(1, math.ceil(wait))
