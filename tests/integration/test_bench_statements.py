"""``hub bench --statements``: the store's statements per batch, counted on the real write path."""

from __future__ import annotations

from hub.bench.statements import count


def test_a_batch_costs_a_few_statements_whatever_its_size(database_url: str) -> None:
    counted = {c.kind: c for c in count(database_url, events=300)}
    assert list(counted) == ["mix", "agreement", "request", "enrollment", "invalid"]
    agreements = counted["agreement"]
    assert agreements.events > 100 and agreements.batches == 2
    assert agreements.commits == agreements.batches  # one transaction per batch of 100
    verbs = dict(agreements.verbs)
    # the batch's agreement states, inbox keys, tenant and configuration: read once per batch
    assert verbs["SELECT"] <= 5 * agreements.batches
    # tickets, agreement states, inbox and outbox: one multi-row INSERT per table and batch;
    # history and timers too where the driver returns generated ids for many rows (PostgreSQL)
    per_row = 0 if database_url.startswith("postgresql") else 2 * agreements.events
    assert verbs["INSERT"] <= 6 * agreements.batches + per_row
    requests = counted["request"]
    # a request's earlier handling, its student's enrollment and debt: a query per table
    assert dict(requests.verbs)["SELECT"] <= 7 * requests.batches
    invalid = counted["invalid"]
    assert invalid.commits == invalid.events  # dead-lettered one by one
