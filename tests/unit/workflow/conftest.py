from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.workflow.config import WorkflowConfig, parse
from hub.workflow.loader import DEMO_CONFIG, read_raw

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_DEMO_RAW = read_raw(DEMO_CONFIG)


def demo_raw() -> dict[str, Any]:
    """A fresh, mutable copy of the demo configuration as loaded from YAML."""
    return copy.deepcopy(_DEMO_RAW)


@pytest.fixture
def demo() -> WorkflowConfig:
    return parse(demo_raw())
