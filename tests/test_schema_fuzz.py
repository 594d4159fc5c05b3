"""Schema fuzzing: every operation in the app's own OpenAPI, with a valid key of each role.

Schemathesis loads `/schema/openapi.json` from the app in-process (ASGI, no network) and
sends, per operation: its coverage phase (boundary and just-out-of-range values of every
parameter and body field, valid and invalid, deterministic), then generated schema-valid
requests aimed at provider PA's real records, with free path parameters, and schema-violating
ones. Every answer must be below 500 and conform to the schema: a documented status code and
content type and a body of the documented shape; invalid input must be refused and valid
input not refused as malformed. Generation is derandomised, so a run is repeatable.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar.testing import AsyncTestClient
from schemathesis import GenerationMode
from schemathesis.auths import AuthContext, set_on_generated_case
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.python import asgi as schemathesis_asgi

from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests.conftest import Keys, add_provider
from tests.registry_records import Records, seed_records

# Generated examples per operation and role, on top of the coverage phase.
AIMED_EXAMPLES = 4
FREE_EXAMPLES = 2
NEGATIVE_EXAMPLES = 2
# The coverage phase tries every wrong JSON type of every field (45 % of its 3,100 cases) and
# every undeclared method (15 %); a few of each per operation find what the rest would.
COVERAGE_CAPS = {"incorrect_type": 4, "unspecified_http_method": 1}
# A ZIP of certificate PDFs renders every PDF afresh (~0.3 s): a few requests each.
CASE_CAPS = {
    "GET /api/v1/certificates/pdfs.zip": 8,
    "GET /uploads/{batch_id}/certificates.zip": 8,
}


def fuzz_config(api_key: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            # Schemathesis applies the key itself and leaves it out where a case tests auth.
            "auth": {"openapi": {"apiKey": {"bearer": api_key}}},
            "checks": {
                # Domain rules go beyond the schema (a credit code's check character, a
                # district's name): schema-valid input may still be a 422, never a 400/405/415.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
                },
                # Litestar's automatic OPTIONS answer lists the methods of the first handler
                # registered on a path only (its route is rebuilt, the OPTIONS handler is not).
                "allow_header_conformance": {"enabled": False},
            },
        }
    )


@pytest.fixture
def asgi_lifespans() -> Iterator[None]:
    """Schemathesis keeps each app's lifespan running for the process unless told otherwise."""
    yield
    schemathesis_asgi.shutdown_lifespans()


def path_parameters(path: str, records: Records) -> dict[str, Any]:
    """Values that name PA's records, for the parameters this path has."""
    by_name: dict[str, Any] = {
        "trainee_id": records.trainee_id,
        "number": records.certificate_number,
        "token": records.certificate_token,
        "apprenticeship_id": records.apprenticeship_id,
        "competition_id": records.competition_id,
        "result_id": records.result_id,
        "recognition_id": records.recognition_id,
        "batch_id": records.batch_id,
        "key_id": records.spare_key_id,
        "name": "enrolments.xlsx",
    }
    codes = {
        "/api/v1/providers/{code}": "PA",
        "/api/v1/periods/{code}": "14th",
        "/api/v1/recognitions/agreements/{code}": records.agreement_code,
    }
    known = {name: value for name, value in by_name.items() if "{" + name + "}" in path}
    if path in codes:
        known["code"] = codes[path]
    return known


def revokes_a_key(case: schemathesis.Case, records: Records) -> bool:
    """Key ids are small integers: a generated one may name the fuzzing key itself."""
    key_id = (case.path_parameters or {}).get("key_id")
    return str(key_id).isdigit() and str(key_id) != records.spare_key_id


def unrepresentable_form(case: schemathesis.Case) -> bool:
    """A form body is a map of strings on the wire: a generated scalar or list "of the wrong
    type" arrives as a well-formed form (`0` is the field `0`), so it proves nothing."""
    return case.media_type == "application/x-www-form-urlencoded" and not isinstance(
        case.body, dict
    )


def role_key(role: str, records: Records) -> str:
    headers = {
        "bureau-admin": records.admin,
        "bureau-viewer": records.viewer,
        "provider": records.pa,
    }
    return headers[role]["Authorization"].removeprefix("Bearer ")


def takes_input(operation: schemathesis.APIOperation) -> bool:
    """Whether there is anything to make invalid (the only header is the API key)."""
    return bool(list(operation.path_parameters) or list(operation.query) or list(operation.body))


class Findings:
    """The first failure of each kind per operation: a run reports everything it found."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}
        self.requests = 0
        self.per_operation: Counter[str] = Counter()

    def check(self, case: schemathesis.Case, records: Records) -> None:
        label = case.operation.label
        if (
            revokes_a_key(case, records)
            or unrepresentable_form(case)
            or self.per_operation[label] >= CASE_CAPS.get(label, 10**6)
        ):
            return
        self.per_operation[label] += 1
        self.requests += 1
        response = case.call()
        try:
            case.validate_response(response)
        except (FailureGroup, Failure) as exc:
            failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
            for failure in failures:
                self.found.setdefault(f"{case.operation.label}: {failure.title}", str(exc))

    def report(self) -> str:
        return "\n\n".join(f"== {key}\n{message}" for key, message in self.found.items())


def cover(
    schema: Any,
    operation: schemathesis.APIOperation,
    modes: list[GenerationMode],
    headers: dict[str, str],
    findings: Findings,
    records: Records,
) -> None:
    """Schemathesis' coverage phase, as its CLI runs it before fuzzing (capped, see above)."""
    context = AuthContext(operation=operation, app=operation.app)
    taken: Counter[str] = Counter()
    for case in schema.iter_coverage_cases(
        operation,
        generation_modes=modes,
        generation_config=schema.config.generation_for(operation=operation),
    ):
        scenario = str(getattr(case.meta.phase.data, "scenario", "") if case.meta else "")
        taken[scenario] += 1
        if taken[scenario] > COVERAGE_CAPS.get(scenario, taken[scenario]):
            continue
        set_on_generated_case(case, context, None)
        case.headers = {**headers, **(case.headers or {})}
        findings.check(case, records)


def fuzz(
    strategy: st.SearchStrategy[schemathesis.Case],
    examples: int,
    findings: Findings,
    records: Records,
    *,
    negative: bool = False,
) -> None:
    """Generated cases without shrinking: `Findings.check` collects rather than raises."""
    if examples < 1:
        return

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        findings.check(case, records)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid where every string is valid (`/v/{token}`).
        if not negative:
            raise


@pytest.mark.parametrize("role", ["bureau-admin", "bureau-viewer", "provider"])
async def test_every_operation_conforms_to_the_schema(
    app: Litestar,
    client: AsyncTestClient,
    keys: Keys,
    settings: Settings,
    asgi_lifespans: None,
    role: str,
) -> None:
    if settings.database_url.startswith("postgresql") and role != "provider":
        pytest.skip("PostgreSQL runs the provider pass only, to keep the suite within budget")
    records = await seed_records(client, keys)
    key = role_key(role, records)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=fuzz_config(key))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60
    findings = Findings()
    # Invalid input is refused the same way whoever sends it: its coverage runs once, as the
    # bureau-admin, whose key passes every guard and so reaches every handler's validation.
    coverage_modes = [GenerationMode.POSITIVE]
    if role == "bureau-admin":
        coverage_modes.append(GenerationMode.NEGATIVE)
    started = time.perf_counter()
    for operation in operations:
        # Pages declare no API-key scheme but take the header in place of a session.
        page_key = (
            {} if operation.definition.raw.get("security") else {"Authorization": f"Bearer {key}"}
        )
        known = path_parameters(operation.path, records)
        cover(schema, operation, coverage_modes, page_key, findings, records)
        if known:
            aimed = operation.as_strategy(headers=page_key, path_parameters=known)
            fuzz(aimed, AIMED_EXAMPLES, findings, records)
        fuzz(operation.as_strategy(headers=page_key), FREE_EXAMPLES, findings, records)
        if takes_input(operation):
            invalid = operation.as_strategy(GenerationMode.NEGATIVE, headers=page_key)
            fuzz(invalid, NEGATIVE_EXAMPLES, findings, records, negative=True)
    print(f"{role}: {findings.requests} requests in {time.perf_counter() - started:.1f} s")
    assert not findings.found, findings.report()
    # The run was not blunted by the key losing its rights halfway.
    still = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert still.status_code == 200


HOSTILE_REQUESTS = [
    # Ids past PostgreSQL's int4 and offsets past a bigint overflowed the drivers (SQLite
    # answered 409, PostgreSQL 500); U+0000 is text PostgreSQL cannot hold or compare (500).
    ("GET", "/api/v1/apprenticeships/98903506207740592128", None, "apprenticeship_id"),
    ("GET", "/api/v1/recognitions/3000000000", None, "recognition_id"),
    ("GET", "/api/v1/competitions/1/results/3000000000", None, "result_id"),
    ("POST", "/api/v1/keys/3000000000/revoke", None, "key_id"),
    ("GET", "/api/v1/trainees?offset=98903506207740592128", None, "offset"),
    ("GET", "/api/v1/audit?offset=9223372036854775808", None, "offset"),
    ("POST", "/api/v1/competitions/1/confirm", {"result_ids": [3000000000]}, "result_ids.0"),
    (
        "POST",
        "/api/v1/periods",
        {
            "code": "15th",
            "name": "十五五",
            "start": "2026-01-01",
            "end": "2030-12-31",
            "indicators": [{"code": "certified_persons", "target": 3000000000}],
        },
        "indicators.0.target",
    ),
    ("GET", "/api/v1/providers/P%00A", None, "path"),
    ("GET", "/api/v1/certificates?occupation_code=6-31%00", None, "occupation_code"),
    ("PATCH", "/api/v1/providers/PA", {"name": "测试\x00机构"}, "name"),
    ("POST", "/api/v1/trainees", {"name": "林\x00一", "id_type": "居民身份证"}, "name"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), HOSTILE_REQUESTS)
async def test_out_of_range_numbers_and_nul_are_a_422_naming_the_field(
    client: AsyncTestClient, keys: Keys, method: str, path: str, body: Any, field: str
) -> None:
    """What the fuzzer found, pinned: a 422 problem naming the field, never a 409 or 500."""
    await add_provider("PA")
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    response = await client.request(method, path, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]]
    if method == "PATCH":
        provider = (await client.get("/api/v1/providers/PA", headers=admin)).json()
        assert provider["name"] == "测试机构PA"
