"""The HTTP API against its own OpenAPI document: schemathesis generates requests for every
operation, valid and invalid ones, and checks each answer: no server error, a status the
document lists, a body, headers and content type the document describes, invalid input refused,
and valid input never refused by validation (the workflow may still refuse it: an unknown
ticket, an illegal move).

Bounded to a few examples per operation and mode so that the suite stays fast; set
``HUB_TEST_API_EXAMPLES`` (default 25) for a deeper search."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from hub.web.tokens import Tokens
from tests.support.people import person
from tests.web.conftest import _site

EXAMPLES = int(os.environ.get("HUB_TEST_API_EXAMPLES", "25"))


def _valid_input_accepted_by_validation(case: schemathesis.Case, response: Any) -> None:
    """A request the document says is valid may be refused by the workflow (404, 409, 422 with
    the workflow's error), never by validation."""
    if response.status_code == 422 and response.json().get("error") == "ValidationError":
        raise AssertionError(f"schema-valid request refused by validation: {response.text}")


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
        response = case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance]
        )
        if mode is GenerationMode.POSITIVE:
            _valid_input_accepted_by_validation(case, response)

    try:
        run()
    except Unsatisfiable:
        pass  # nothing to make invalid: an operation without parameters or body
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # schemathesis raises one group of every distinct failure
        found.append(f"{operation.label} [{mode.value}]: {e}")
    return found


def _refuse(*args: object, **kwargs: object) -> None:
    raise ConnectionRefusedError(111, "Connection refused")


@pytest.mark.timeout(300)
def test_every_operation_conforms_to_the_openapi_document(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the SMTP test e-mail must not reach the hosts and ports generated here
    monkeypatch.setattr("hub.mail.smtp.send", _refuse)
    for site in _site(sqlite_url, tmp_path):
        site.open_ticket()
        site.dead_letter("conformance-1")
        operator = site.auth("operator")
        person(site.hub.uow, "boss", "admin")  # companies are the Admin role's
        admin = {"Authorization": f"Bearer {Tokens(site.hub.uow).create('boss', tenant='default')}"}
        schema = schemathesis.openapi.from_asgi("/openapi.json", site.client.app, headers=operator)
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 15
        for operation in operations:
            headers = admin if operation.path.startswith("/api/companies") else operator
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failures.extend(_explore(operation, mode, headers))
        assert not failures, f"{len(failures)} failing operation(s):\n\n" + "\n\n".join(failures)
