"""``hub bench``: throughput and latency of the hub against a hand-written loop, in one run."""
