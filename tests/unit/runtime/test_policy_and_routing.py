from __future__ import annotations

import random
import threading

import pytest

from hub.runtime.policy import RetryPolicy
from hub.runtime.transport import EVENTS_EXCHANGE, Delivery, Outgoing, Unroutable, topic_matches
from hub.runtime.transports.memory import MemoryTransport


def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    policy = RetryPolicy(attempts=10, base_delay=1, max_delay=30, jitter=0.2)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(1, 8)]
    for n, d in enumerate(delays, start=1):
        ceiling = min(30, 2 ** (n - 1))
        assert ceiling * 0.8 <= d <= ceiling
    assert delays[5] <= 30 and delays[6] <= 30
    assert len({round(policy.delay(3), 6) for _ in range(20)}) > 1  # jitter spreads retries


def test_attempts_are_counted_with_the_first_delivery() -> None:
    policy = RetryPolicy(attempts=3)
    assert [policy.gives_up_after(n) for n in (1, 2, 3)] == [False, False, True]


@pytest.mark.parametrize(
    "bad", [{"attempts": 0}, {"base_delay": 0}, {"jitter": 1.5}, {"base_delay": 10, "max_delay": 1}]
)
def test_nonsense_policies_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("finance.agreement.pending", "finance.agreement.pending", True),
        ("finance.agreement.*", "finance.agreement.pending", True),
        ("finance.*", "finance.agreement.pending", False),
        ("finance.#", "finance.agreement.pending", True),
        ("#", "anything.at.all", True),
        ("#.pending", "finance.agreement.pending", True),
        ("crm.ticket.created", "crm.ticket.cancelled", False),
    ],
)
def test_topic_matching(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


def _collect(t: MemoryTransport, queue: str, n: int, settle: str = "ack") -> list[Delivery]:
    got: list[Delivery] = []
    stop = threading.Event()

    def on(d: Delivery) -> None:
        got.append(d)
        getattr(d, settle)()
        if len(got) >= n:
            stop.set()

    t.consume([queue], on, prefetch=10, stop=stop)
    return got


def test_memory_transport_routes_by_type_and_redelivers_what_was_not_acknowledged() -> None:
    t = MemoryTransport()
    t.setup({"hub.a": ["x.created"], "hub.b": ["x.*"]})
    t.publish([Outgoing(EVENTS_EXCHANGE, "x.created", b"1", "m1")])
    t.publish([Outgoing(EVENTS_EXCHANGE, "x.deleted", b"2", "m2")])
    assert [q.depth for q in t.stats(["hub.a", "hub.b"])] == [1, 2]
    first = _collect(t, "hub.b", 1, settle="requeue")
    again = _collect(t, "hub.b", 2)
    assert first[0].delivery_count == 1
    assert [d.message_id for d in again] == ["m1", "m2"]
    assert again[0].delivery_count == 2
    with pytest.raises(Unroutable):
        t.publish([Outgoing("", "hub.nowhere", b"3", "m3")], mandatory=True)
