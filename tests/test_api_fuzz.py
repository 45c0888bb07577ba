"""Schema fuzzing: schemathesis generates requests from ``/openapi.json``; no 5xx and no response that
disagrees with the document (status, content type, body schema, Allow, accepted/rejected data).

Runs against an app with keys configured, authenticated with the admin key (no rate limit), like
the run against ``python serve.py`` recorded in docs/ARCHITECTURE.md."""

from __future__ import annotations

from typing import Any

import pytest
from _api_support import api_settings

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from assistant.api import create_app  # noqa: E402

EXAMPLES_PER_OPERATION = 30
ADMIN = "admin-fuzz-key-0123456789"


@pytest.fixture(scope="module")
def fuzz_app(api_assistant: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = api_settings(
        tmp_path_factory.mktemp("fuzz"), admin_keys=[ADMIN], kiosk_keys=["kiosk-fuzz-key-0123456789"]
    )
    return create_app(settings, api_assistant)


def _fuzz(operation: Any) -> None:
    """Run ``EXAMPLES_PER_OPERATION`` generated cases against one operation; the first failure raises."""
    # An uploaded file's type and content cannot be stated in the schema (422 for an extension no
    # loader reads, or an empty file): only for uploads is a rejected schema-valid request not a failure.
    upload = operation.path.startswith("/v1/admin/documents") and operation.method.upper() in ("POST", "PUT")
    excluded = [schemathesis.checks.positive_data_acceptance] if upload else []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN}"}, excluded_checks=excluded)

    run()


def test_responses_match_the_schema_under_fuzzing(fuzz_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:
        _fuzz(operation)
