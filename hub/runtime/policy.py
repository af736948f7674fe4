"""The recoverability policy: how often and how late a failed message is tried again."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` deliveries in all (the first one included) before dead-lettering.

    The delay after failed attempt ``n`` is ``base_delay * 2**(n-1)``, capped at ``max_delay``,
    with "full jitter" of ``jitter`` (0.2: the delay is drawn from 80%..100% of that value).
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 300.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay <= 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def delay(self, failed_attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after ``failed_attempt`` (1-based) before the next delivery."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failed_attempt - 1))
        low = ceiling * (1 - self.jitter)
        return (rng or random).uniform(low, ceiling)

    def gives_up_after(self, failed_attempt: int) -> bool:
        return failed_attempt >= self.attempts
