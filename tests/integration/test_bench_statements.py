"""``hub bench --statements``: the store's statements per batch, counted on the real write path."""

from __future__ import annotations

from pathlib import Path

from hub.bench.statements import count


def test_statements_are_counted_per_kind_and_batches_commit_once(tmp_path: Path) -> None:
    counted = {c.kind: c for c in count(f"sqlite:///{tmp_path / 'hub.sqlite'}", events=300)}
    assert list(counted) == ["mix", "agreement", "request", "enrollment", "invalid"]
    agreements = counted["agreement"]
    assert agreements.events > 100 and agreements.batches == 2
    assert agreements.commits == agreements.batches  # one transaction per batch of 100
    # a ticket, its history, its timer and the agreement's state: one INSERT each per event
    assert dict(agreements.verbs)["INSERT"] >= 4 * agreements.events
    # the tenant's required fields are read once per batch, not once per event
    assert dict(agreements.verbs)["SELECT"] < 2 * agreements.events
    invalid = counted["invalid"]
    assert invalid.commits == invalid.events  # dead-lettered one by one
