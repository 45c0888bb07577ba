"""Schema fuzzing: schemathesis generates requests from ``/openapi.json``; no response may be a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from _api_support import api_settings

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from assistant.api import create_app  # noqa: E402

EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def fuzz_app(api_assistant: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return create_app(api_settings(tmp_path_factory.mktemp("fuzz")), api_assistant)


def _fuzz(operation: Any, failures: list[str]) -> None:
    """Run ``EXAMPLES_PER_OPERATION`` generated cases against one operation, collecting 5xx responses."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call()
        if response.status_code >= 500:
            failures.append(
                f"{operation.method.upper()} {operation.path}: {response.status_code} {response.text[:200]}"
            )

    run()


def test_no_server_errors_under_schema_fuzzing(fuzz_app: Any) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:
        _fuzz(operation, failures)
    assert not failures, failures[:10]
