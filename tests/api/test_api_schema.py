"""The JSON API against its own OpenAPI document (/api/openapi.json), with schemathesis:
requests generated from the document, valid and invalid ones, each answer checked for a
documented status code, a body matching the documented schema and content type, and never a
500. A bounded number of examples per operation; a fixed sequence in CI.

(schemathesis' pytest loader `from_fixture` does not run under pytest 9, so the operations'
strategies are drawn by Hypothesis directly: the same cases and the same checks.)"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings

EXAMPLES = 60
OPERATIONS = [("/api/services", "GET"), ("/api/promises", "POST"),
              ("/api/openapi.json", "GET")]
# operations without parameters or body have no invalid request to generate
NEGATIVE = [("/api/promises", "POST")]


@pytest.fixture
def api_app(make_app: Any) -> Flask:
    return make_app(SITE_DIR="/nonexistent-site", RATELIMIT_ENABLED=False)


def test_every_operation_of_the_document_is_tested(api_app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)
    found = {(op.ok().path, op.ok().method.upper()) for op in schema.get_all_operations()}
    # schemathesis leaves the document's own address out of its list; it is tested by name
    assert found == set(OPERATIONS) - {("/api/openapi.json", "GET")}


@pytest.mark.parametrize("path,method,mode", [
    *[(p, m, schemathesis.GenerationMode.POSITIVE) for p, m in OPERATIONS],
    *[(p, m, schemathesis.GenerationMode.NEGATIVE) for p, m in NEGATIVE]], ids=str)
def test_the_api_answers_as_its_document_says(api_app: Flask, path: str, method: str,
                                              mode: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None,
              derandomize=os.environ.get("CI") == "true",
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def run(case: Any) -> None:
        case.call_and_validate()

    run()
