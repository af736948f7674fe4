"""The /metrics document follows Prometheus conventions and its label sets stay bounded."""

from __future__ import annotations

import uuid

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hub.web.metrics import OTHER, MetricsObserver


def _families(observer: MetricsObserver) -> dict[str, object]:
    text = generate_latest(observer.registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _series(observer: MetricsObserver) -> int:
    text = generate_latest(observer.registry).decode()
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def test_fifty_unknown_event_types_add_no_series_beyond_one_other_label() -> None:
    observer = MetricsObserver()
    observer.expect(["test.item.created"])
    observer.outcome("ledger", "test.item.created", "handled", 0.01)
    observer.outcome("ledger", "stranger.type", "dead-lettered", 0.01)
    before = _series(observer)
    for _ in range(50):
        observer.outcome("ledger", f"random.{uuid.uuid4().hex}", "dead-lettered", 0.01)
    assert _series(observer) == before
    text = generate_latest(observer.registry).decode()
    assert f'hub_messages_total{{consumer="ledger",event_type="{OTHER}",outcome="dead_lettered"}} 51.0' in text
    assert 'event_type="test.item.created",outcome="handled"} 1.0' in text
    assert "random." not in text


def test_contract_types_keep_their_own_label_without_being_declared() -> None:
    observer = MetricsObserver()
    observer.outcome("finance-agreements", "finance.agreement.pending", "dead-lettered", 0.2)
    text = generate_latest(observer.registry).decode()
    assert 'event_type="finance.agreement.pending",outcome="dead_lettered"} 1.0' in text


def test_names_use_base_units_and_counters_end_in_total() -> None:
    observer = MetricsObserver()
    observer.outcome("ledger", "x", "handled", 0.01)
    observer.relayed("event", 3, 0.5)
    families = _families(observer)
    text = generate_latest(observer.registry).decode()
    for name, family in families.items():
        kind = family.type  # type: ignore[attr-defined]
        assert name.startswith("hub_"), name
        if kind == "counter":
            assert f"{name}_total" in text, name
            assert f"{name}_created" not in text, "a counter's _created series doubles the count"
        if kind == "histogram":
            assert name.endswith("_seconds"), f"{name}: a duration is in seconds"
        assert not any(u in name for u in ("_ms", "millis", "minutes")), name
    assert set(families) == {
        "hub_messages",
        "hub_handler_duration_seconds",
        "hub_outbox_published",
        "hub_outbox_relay_lag_seconds",
    }
