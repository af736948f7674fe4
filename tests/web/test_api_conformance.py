"""The HTTP API against its own OpenAPI document: schemathesis generates requests for every
operation (valid and invalid ones) and checks each answer: no server error, a status the
document lists, a body, headers and content type the document describes, and invalid input
refused.

Bounded to a few examples per operation and mode so that the suite stays fast; set
``HUB_TEST_API_EXAMPLES`` (default 25) for a deeper search."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.web.conftest import _site

EXAMPLES = int(os.environ.get("HUB_TEST_API_EXAMPLES", "25"))


def _explore(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    """Run ``EXAMPLES`` generated requests of ``operation``; the failures found, as text."""
    found: list[str] = []

    @given(case=operation.as_strategy(mode, headers=headers))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers)

    try:
        run()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # schemathesis raises one group of every distinct failure
        found.append(f"{operation.label} [{mode.value}]: {e}")
    return found


@pytest.mark.timeout(300)
def test_every_operation_conforms_to_the_openapi_document(sqlite_url: str, tmp_path: Path) -> None:
    for site in _site(sqlite_url, tmp_path):
        site.open_ticket()
        site.dead_letter("conformance-1")
        operator = site.auth("operator")
        schema = schemathesis.openapi.from_asgi("/openapi.json", site.client.app, headers=operator)
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 15
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failures.extend(_explore(operation, mode, operator))
        assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
