"""The access matrix: every route × {no key, bureau-admin, bureau-viewer, provider A, provider B}.

Every record in a path belongs to provider PA ("A"). Provider PB ("B") must get 404 for A's
records (never 403: that would confirm they exist), lists must not show B any of A's records,
and a write B (or anyone refused) attempts must leave A's record exactly as it was. The table
is checked against the app's routes, so a new endpoint without a row fails this test.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from tests.conftest import Keys
from tests.factories import nth_resident_id
from tests.registry_records import ELECTRICIAN, HOLDER, Records, seed_records
from tests.upload_files import csv_bytes, row

# What a caller's request may come to once it is through auth and scoping, where the outcome
# depends on an earlier row's write (a second revoke is a 409): 2xx, 3xx or 409.
OK = "ok"
CALLERS = ("none", "admin", "viewer", "pa", "pb")
DENIED = {303, 401, 403, 404}


@dataclass(frozen=True)
class Row:
    """One route; `expect` gives the status for no key, admin, viewer, provider A, provider B."""

    method: str
    route: str  # as Litestar names it, e.g. /api/v1/trainees/{trainee_id:uuid}
    url: str  # formatted with the Records' fields
    expect: tuple[int | str, int | str, int | str, int | str, int | str]
    json: Any = None
    form: dict[str, str] | None = None
    upload: bool = False
    # For writes: A's record as the bureau reads it, unchanged by every refused attempt.
    snapshot: str | None = None
    # For lists: a field of A's record that A's answer holds and B's must not.
    marker: str | None = None
    name: str = field(default="")


def r(
    method: str, route: str, expect: tuple[int | str, ...], url: str | None = None, **extra: Any
) -> Row:
    return Row(method, route, url or route, expect, **extra)  # type: ignore[arg-type]


API = "/api/v1"
T = "{trainee_id:uuid}"
N = "{number:str}"
AP = "{apprenticeship_id:int}"
C = "{competition_id:int}"
RES = "{result_id:int}"
REC = "{recognition_id:int}"
B = "{batch_id:uuid}"

NEW_PERSON = {"name": "矩阵新人", "id_type": "居民身份证", "id_number": nth_resident_id(30)}


def new_certificate(provider: str | None = None) -> dict[str, Any]:
    body = {
        **NEW_PERSON,
        "kind": "职业技能等级证书",
        "occupation_code": ELECTRICIAN,
        "level": 4,
        "issued_on": "2025-07-01",
    }
    return {**body, "provider": provider} if provider else body


ROWS: list[Row] = [
    # --- public ---------------------------------------------------------------------------
    r("GET", "/health/live", (200, 200, 200, 200, 200)),
    r("GET", "/health/ready", (200, 200, 200, 200, 200)),
    r("GET", "/.well-known/jwks.json", (200, 200, 200, 200, 200)),
    r("GET", "/metrics", (200, 200, 200, 200, 200)),
    r("GET", "/v/{token:str}", (200, 200, 200, 200, 200), "/v/{certificate_token}"),
    r(
        "POST",
        "/v/{token:str}/match",
        (200, 200, 200, 200, 200),
        "/v/{certificate_token}/match",
        form={"id_number": HOLDER["id_number"]},
    ),
    r(
        "GET",
        f"{API}/verify/{{token:str}}",
        (200, 200, 200, 200, 200),
        f"{API}/verify/{{certificate_token}}",
    ),
    r("GET", "/", (200, 200, 200, 200, 200)),
    r("GET", "/login", (200, 200, 200, 200, 200)),
    # No CSRF cookie from the form: refused whoever asks.
    r("POST", "/login", (403, 403, 403, 403, 403), form={"api_key": "x"}),
    # --- providers --------------------------------------------------------------------------
    r("GET", f"{API}/providers", (401, 200, 200, 200, 200), marker="测试机构PA"),
    r("GET", f"{API}/providers/{{code:str}}", (401, 200, 200, 200, 404), f"{API}/providers/PA"),
    r(
        "POST",
        f"{API}/providers",
        (401, 201, 403, 403, 403),
        json={
            "code": "NEWP",
            "name": "新机构",
            "kind": "评价机构",
            "district": "湖里",
            "credit_code": "91350200MA2Y0A1B5C",
        },
    ),
    r(
        "PATCH",
        f"{API}/providers/{{code:str}}",
        (401, 200, 403, 403, 403),
        f"{API}/providers/PA",
        json={"name": "改过名的机构"},
        snapshot=f"{API}/providers/PA",
    ),
    # --- people -------------------------------------------------------------------------------
    r("GET", f"{API}/trainees", (401, 200, 200, 200, 200), marker="trainee_id"),
    r("GET", f"{API}/trainees/{T}", (401, 200, 200, 200, 404), f"{API}/trainees/{{trainee_id}}"),
    r("POST", f"{API}/trainees", (401, OK, 403, OK, OK), json=NEW_PERSON),
    r(
        "POST",
        f"{API}/trainees/lookup",
        (401, 200, 200, 200, 404),
        json={"id_type": HOLDER["id_type"], "id_number": HOLDER["id_number"]},
    ),
    r(
        "PATCH",
        f"{API}/trainees/{T}",
        (401, 200, 403, 200, 404),
        f"{API}/trainees/{{trainee_id}}",
        json={"phone": "13900000000"},
        snapshot=f"{API}/trainees/{{trainee_id}}",
    ),
    # --- keys and audit -------------------------------------------------------------------------
    r("GET", f"{API}/me", (401, 200, 200, 200, 200)),
    r("GET", f"{API}/keys", (401, 200, 403, 403, 403)),
    r(
        "POST",
        f"{API}/keys",
        (401, 201, 403, 403, 403),
        json={"role": "bureau-viewer", "label": "矩阵"},
    ),
    r(
        "POST",
        f"{API}/keys/{{key_id:int}}/revoke",
        (401, 200, 403, 403, 403),
        f"{API}/keys/{{spare_key_id}}/revoke",
        snapshot=f"{API}/keys",
    ),
    r("GET", f"{API}/audit", (401, 200, 200, 403, 403)),
    # --- plan periods and progress ----------------------------------------------------------------
    r("GET", f"{API}/periods", (401, 200, 200, 200, 200)),
    r("GET", f"{API}/periods/{{code:str}}", (401, 200, 200, 200, 200), f"{API}/periods/14th"),
    r(
        "POST",
        f"{API}/periods",
        (401, 201, 403, 403, 403),
        json={"code": "15th", "name": "“十五五”", "start": "2026-01-01", "end": "2030-12-31"},
    ),
    r("GET", f"{API}/progress", (401, 200, 200, 200, 200), f"{API}/progress?as_of=2025-12-31"),
    r(
        "GET",
        f"{API}/progress/export.xlsx",
        (401, 200, 200, 200, 200),
        f"{API}/progress/export.xlsx?as_of=2025-12-31",
    ),
    r(
        "GET",
        f"{API}/progress/export.csv",
        (401, 200, 200, 200, 200),
        f"{API}/progress/export.csv?as_of=2025-12-31&table=certificates",
        marker="certificate_number",
    ),
    r("GET", f"{API}/verifications/monthly", (401, 200, 200, 403, 403)),
    # --- certificates -------------------------------------------------------------------------------
    r("GET", f"{API}/certificates", (401, 200, 200, 200, 200), marker="certificate_number"),
    r(
        "GET",
        f"{API}/certificates/{N}",
        (401, 200, 200, 200, 404),
        f"{API}/certificates/{{certificate_number}}",
    ),
    r(
        "GET",
        f"{API}/certificates/{N}/pdf",
        (401, 200, 200, 200, 404),
        f"{API}/certificates/{{certificate_number}}/pdf",
    ),
    r(
        "GET",
        f"{API}/certificates/pdfs.zip",
        (401, 200, 200, 200, 200),
        f"{API}/certificates/pdfs.zip?number={{certificate_number}}",
        marker="certificate_number",
    ),
    r("POST", f"{API}/certificates", (401, OK, 403, OK, 403), json=new_certificate("PA")),
    r(
        "POST",
        f"{API}/certificates/{N}/correct",
        (401, OK, 403, OK, 404),
        f"{API}/certificates/{{certificate_number}}/correct",
        json={"reason": "等级录错", "level": 2},
        snapshot=f"{API}/certificates/{{certificate_number}}",
    ),
    r(
        "POST",
        f"{API}/certificates/{N}/revoke",
        (401, OK, 403, OK, 404),
        f"{API}/certificates/{{certificate_number}}/revoke",
        json={"reason": "测试吊销"},
        snapshot=f"{API}/certificates/{{certificate_number}}",
    ),
    # --- apprenticeships ------------------------------------------------------------------------------
    r("GET", f"{API}/apprenticeships", (401, 200, 200, 200, 200), marker="林晓东"),
    r("GET", f"{API}/apprenticeships/figures", (401, 200, 200, 200, 200)),
    r(
        "GET",
        f"{API}/apprenticeships/{AP}",
        (401, 200, 200, 200, 404),
        f"{API}/apprenticeships/{{apprenticeship_id}}",
    ),
    r(
        "POST",
        f"{API}/apprenticeships",
        (401, OK, 403, OK, 403),
        json={
            "enterprise": "ENT",
            "institution": "PA",
            **NEW_PERSON,
            "occupation_code": ELECTRICIAN,
            "target_level": 4,
            "start_date": "2025-09-01",
            "end_date": "2026-08-31",
            "contract_end_date": "2027-08-31",
            "enterprise_mentor": "王师傅",
            "school_mentor": "李老师",
        },
    ),
    r(
        "POST",
        f"{API}/apprenticeships/{AP}/terminate",
        (401, OK, 403, OK, 404),
        f"{API}/apprenticeships/{{apprenticeship_id}}/terminate",
        json={"terminated_on": "2025-10-01", "reason": "离职"},
        snapshot=f"{API}/apprenticeships/{{apprenticeship_id}}",
    ),
    r(
        "POST",
        f"{API}/apprenticeships/{AP}/complete",
        (401, OK, 403, OK, 404),
        f"{API}/apprenticeships/{{apprenticeship_id}}/complete",
        json={"completed_on": "2025-10-01", "result": "failed"},
        snapshot=f"{API}/apprenticeships/{{apprenticeship_id}}",
    ),
    # --- competitions --------------------------------------------------------------------------------
    r("GET", f"{API}/competitions", (401, 200, 200, 200, 200), marker="职业技能大赛电工项目"),
    r(
        "GET",
        f"{API}/competitions/{C}",
        (401, 200, 200, 200, 404),
        f"{API}/competitions/{{competition_id}}",
    ),
    r(
        "GET",
        f"{API}/competitions/{C}/results",
        (401, 200, 200, 200, 404),
        f"{API}/competitions/{{competition_id}}/results",
    ),
    r(
        "GET",
        f"{API}/competitions/{C}/results/{RES}",
        (401, 200, 200, 200, 404),
        f"{API}/competitions/{{competition_id}}/results/{{result_id}}",
    ),
    r(
        "POST",
        f"{API}/competitions",
        (401, OK, 403, OK, 403),
        json={
            "name": "矩阵测试竞赛",
            "year": 2025,
            "level": "市级二类",
            "organiser": "厦门市人力资源和社会保障局",
            "issuer": "PA",
            "occupations": [ELECTRICIAN],
        },
    ),
    r(
        "POST",
        f"{API}/competitions/{C}/results",
        (401, OK, 403, OK, 404),
        f"{API}/competitions/{{competition_id}}/results",
        json={**NEW_PERSON, "occupation_code": ELECTRICIAN, "event": "电工", "rank": 5},
        snapshot=f"{API}/competitions/{{competition_id}}/results",
    ),
    r(
        "POST",
        f"{API}/competitions/{C}/confirm",
        (401, OK, 403, OK, 404),
        f"{API}/competitions/{{competition_id}}/confirm",
        json={"issued_on": "2025-11-01"},
        snapshot=f"{API}/competitions/{{competition_id}}/results",
    ),
    # --- recognition -----------------------------------------------------------------------------------
    r("GET", f"{API}/recognitions/partners", (401, 200, 200, 200, 200)),
    r("GET", f"{API}/recognitions/agreements", (401, 200, 200, 200, 200), marker="agreement_code"),
    r(
        "GET",
        f"{API}/recognitions/agreements/{{code:str}}",
        (401, 200, 200, 200, 404),
        f"{API}/recognitions/agreements/{{agreement_code}}",
    ),
    r(
        "POST",
        f"{API}/recognitions/agreements",
        (401, 201, 403, 403, 403),
        json={
            "code": "BRA-TEST",
            "name": "巴西职业资格互认（示例）",
            "partner": "BRA",
            "document": "示例文件",
            "issuer": "PA",
            "mapping": [{"foreign_level": "A", "level": 3}],
        },
    ),
    r("GET", f"{API}/recognitions", (401, 200, 200, 200, 200), marker="陈建宏"),
    r(
        "GET",
        f"{API}/recognitions/{REC}",
        (401, 200, 200, 200, 404),
        f"{API}/recognitions/{{recognition_id}}",
    ),
    r(
        "POST",
        f"{API}/recognitions",
        # B cannot see A's agreement: "no such agreement", as a field error.
        (401, OK, 403, OK, 422),
        json={
            "agreement": "FJ-TW-JSS",
            "name": "林志玲",
            "id_type": "台湾居民来往大陆通行证",
            "id_number": "87654321",
            "issuing_body": "劳动部劳动力发展署技能检定中心",
            "foreign_title": "技术士证 室内配线",
            "foreign_number": "TW-110-000999",
            "foreign_level": "乙级",
            "occupation_code": ELECTRICIAN,
        },
    ),
    r(
        "POST",
        f"{API}/recognitions/{REC}/decision",
        (401, 200, 403, 403, 403),
        f"{API}/recognitions/{{recognition_id}}/decision",
        json={"decision": "refused", "reason": "材料不全"},
        snapshot=f"{API}/recognitions/{{recognition_id}}",
    ),
    # --- uploads -------------------------------------------------------------------------------------------
    r("GET", f"{API}/imports", (401, 200, 200, 200, 200), marker="batch_id"),
    r("GET", f"{API}/imports/{B}", (401, 200, 200, 200, 404), f"{API}/imports/{{batch_id}}"),
    r(
        "GET",
        f"{API}/imports/{B}/errors.xlsx",
        (401, 200, 200, 200, 404),
        f"{API}/imports/{{batch_id}}/errors.xlsx",
    ),
    *[
        r("GET", f"{API}/imports/templates/{kind}.{ext}", (401, 200, 200, 200, 200))
        for kind in ("enrolments", "certificates", "apprentices", "competition-results")
        for ext in ("xlsx", "csv")
    ],
    r("POST", f"{API}/imports/enrolments", (401, 422, 403, 200, 200), upload=True),
    *[
        r("POST", f"{API}/imports/{kind}", (401, 422, 403, 422, 422), upload=True)
        for kind in ("certificates", "apprentices", "competition-results")
    ],
    # --- pages: without a session they send the browser to /login ---------------------------------------
    r("GET", "/keys", (303, 200, 403, 403, 403)),
    r("POST", "/keys", (303, 200, 403, 403, 403), form={"role": "bureau-viewer", "label": "页面"}),
    r(
        "POST",
        "/keys/{key_id:int}/revoke",
        (303, 303, 403, 403, 403),
        "/keys/{spare_key_id}/revoke",
        form={},
    ),
    r("POST", "/logout", (303, 303, 303, 303, 303), form={}),
    r("GET", "/uploads", (303, 200, 200, 200, 200)),
    r("POST", "/uploads", (303, 422, 403, 200, 200), upload=True),
    r(
        "GET",
        "/uploads/templates/{name:str}",
        (303, 200, 200, 200, 200),
        "/uploads/templates/enrolments.xlsx",
    ),
    r(
        "GET",
        f"/uploads/{B}/errors.xlsx",
        (303, 200, 200, 200, 404),
        "/uploads/{batch_id}/errors.xlsx",
    ),
    r(
        "GET",
        f"/uploads/{B}/certificates.zip",
        (303, 200, 200, 200, 404),
        "/uploads/{certificate_batch_id}/certificates.zip",
    ),
    r("GET", "/dashboard", (303, 200, 200, 403, 403), "/dashboard?as_of=2025-12-31"),
    r(
        "GET",
        "/dashboard/export.xlsx",
        (303, 200, 200, 403, 403),
        "/dashboard/export.xlsx?as_of=2025-12-31",
    ),
    r(
        "GET",
        "/dashboard/export.csv",
        (303, 200, 200, 403, 403),
        "/dashboard/export.csv?as_of=2025-12-31",
    ),
]

# Framework-owned: the OpenAPI document and its viewers.
UNLISTED_PREFIXES = ("/schema",)


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute) and not route.path.startswith(UNLISTED_PREFIXES)
        for method in route.methods - {"OPTIONS", "HEAD"}
    }


# A one-row enrolment sheet of a new person. The other upload kinds get it too and refuse it
# as a whole (422), which they can only do once past the access checks.
UPLOAD_SHEET = csv_bytes([row(40)])


def matches(expected: int | str, status: int) -> bool:
    if expected == OK:
        return 200 <= status < 400 or status == 409
    return status == expected


class Matrix:
    def __init__(self, client: AsyncTestClient, records: Records) -> None:
        self.client = client
        self.records = records
        self.values = asdict(records)
        self.headers = {
            "none": {},
            "admin": records.admin,
            "viewer": records.viewer,
            "pa": records.pa,
            "pb": records.pb,
        }
        self.problems: list[str] = []

    async def call(self, row: Row, caller: str) -> Any:
        url = self.url(row)
        headers = self.headers[caller]
        if row.upload:
            fields = {"kind": "enrolments"} if row.route == "/uploads" else {}
            return await self.client.post(
                url,
                files={"file": ("sheet.csv", UPLOAD_SHEET)},
                data=fields,
                headers=headers,
                follow_redirects=False,
            )
        if row.form is not None:
            return await self.client.request(
                row.method, url, data=row.form, headers=headers, follow_redirects=False
            )
        return await self.client.request(
            row.method, url, json=row.json, headers=headers, follow_redirects=False
        )

    def url(self, row: Row) -> str:
        return row.url.format(**self.values)

    async def snapshot(self, row: Row) -> Any:
        assert row.snapshot is not None
        response = await self.client.get(
            row.snapshot.format(**self.values), headers=self.records.admin
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def check(self, row: Row) -> None:
        expected = dict(zip(CALLERS, row.expect, strict=True))
        # Refused callers go first, so a refused write is seen against the untouched record.
        order = sorted(CALLERS, key=lambda c: expected[c] not in DENIED)
        before = await self.snapshot(row) if row.snapshot else None
        answers: dict[str, Any] = {}
        for caller in order:
            if expected[caller] not in DENIED and before is not None:
                after = await self.snapshot(row)
                if after != before:
                    self.problems.append(
                        f"{row.method} {self.url(row)}: a refused write changed {after}"
                    )
                before = None
            response = await self.call(row, caller)
            answers[caller] = response
            if not matches(expected[caller], response.status_code):
                self.problems.append(
                    f"{row.method} {self.url(row)} as {caller}: {response.status_code}, "
                    f"expected {expected[caller]}: {response.text[:200]}"
                )
        if before is not None and await self.snapshot(row) != before:
            self.problems.append(
                f"{row.method} {self.url(row)}: a refused write changed A's record"
            )
        if row.marker:
            mark = self.values.get(row.marker, row.marker)
            if mark.encode() not in answers["pa"].content:
                self.problems.append(
                    f"{self.url(row)}: A's own answer lacks {mark!r} (check is void)"
                )
            if mark.encode() in answers["pb"].content:
                self.problems.append(f"{self.url(row)}: B's answer shows A's {mark!r}")


async def test_every_route_answers_each_caller_as_the_matrix_says(
    app: Litestar, client: AsyncTestClient, keys: Keys
) -> None:
    table = {(row.method, row.route) for row in ROWS}
    assert len(table) == len(ROWS), "a route has two rows"
    routes = app_routes(app)
    assert routes - table == set(), "routes without a row in the access matrix"
    assert table - routes == set(), "rows for routes the app does not have"

    matrix = Matrix(client, await seed_records(client, keys))
    # Reads first: the writes below change A's records (revoke, correct, terminate...).
    for entry in sorted(ROWS, key=lambda entry: entry.method != "GET"):
        await matrix.check(entry)
    assert not matrix.problems, "\n".join(matrix.problems)
