"""Progress API, plan periods, the bureau's dashboard and the exports (thin: see services)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream, Template

from ..districts import DISTRICTS
from ..openapi_problems import problem_response
from ..pages.session import CurrentPageUser, require_page_role
from ..principal import Principal
from ..web import ADMIN, ANY_ROLE, BUREAU, CSV, XLSX, CurrentPrincipal, require
from . import exports, services, svg
from .schemas import PeriodCreate, PeriodDetail, ProgressOut

COUNTING_RULES = """
**Counting rules** (DESIGN §3): indicators 10 `certified_persons` and 11
`advanced_certified_persons` count **people**, not certificates — a person is one trainee
(ID type + ID number) and counts once however many certificates they hold. A certificate
qualifies when its kind is 职业技能等级证书 or 职业资格证书 (专项职业能力证书 never
count), its status is `valid` today (revoked and superseded never count; a replacement
keeps the original issue date, so a reissued certificate counts once), and its issue date
lies inside the period (both ends included) and on or before `as_of` (Asia/Shanghai dates;
default today). Indicator 11 counts people with a qualifying certificate of level 3
(高级工) or above: 3, 2, 1, 特级技师 (0), 首席技师 (-1). Indicators 5 `trainings` and 6
`migrant_worker_trainings` count completed enrolments (status 结业) by end date, 人次
(every enrolment); 6 only where the category at enrolment is 农民工.
Every breakdown attributes a person to their **first** qualifying certificate in the
period (earliest issue date, then lowest certificate id), separately per indicator, so
every breakdown — and `by_year` — adds up to the total. District: the certificate's own
district, else its provider's (an enrolment: the person's district, else the provider's).
Trainings appear in `by_source` as `training`. `ratio` = value / target, unrounded;
`elapsed` = share of the period's days passed on `as_of`. Default period: the latest one
that has started by `as_of` and has targets. A provider key gets the same rules applied
to its own certificates and enrolments only (its own figures; `provider` is set).
"""

PeriodParam = Annotated[
    str | None, QueryParameter(description="period code, e.g. 14th; default: the latest started")
]
AsOfParam = Annotated[
    date | None, QueryParameter(description="count up to this date (YYYY-MM-DD); default today")
]
TableParam = Annotated[
    Literal["figures", "certificates"],
    QueryParameter(
        description="figures: totals and breakdowns; certificates: the list behind them"
    ),
]

NO_SUCH_PERIOD = {404: problem_response(404, "找不到规划期 / no such period")}


def _tz(request: Request) -> ZoneInfo:
    return request.app.state.settings.tz  # type: ignore[no-any-return]


class PeriodController(Controller):
    path = "/periods"
    tags = ["reporting"]

    @get("/", guards=[require(*ANY_ROLE)], summary="Plan periods and their targets")
    async def list(self) -> list[PeriodDetail]:
        return await services.list_periods()

    @get("/{code:str}", guards=[require(*ANY_ROLE)], summary="One plan period")
    async def get(self, code: FromPath[str]) -> PeriodDetail:
        return await services.get_period(code)

    @post(
        "/",
        guards=[require(*ADMIN)],
        summary="Add a plan period with its targets (bureau-admin)",
        description="Indicator codes: certified_persons (10), advanced_certified_persons (11), "
        "trainings (5), migrant_worker_trainings (6); end after start; targets > 0. Audited.",
    )
    async def create(
        self, data: JSONBody[PeriodCreate], principal: CurrentPrincipal
    ) -> PeriodDetail:
        return await services.create_period(data, principal)


async def _figures(
    principal: Principal, tz: ZoneInfo, period: str | None, as_of: date | None
) -> ProgressOut:
    return await services.progress(principal, tz, period, as_of)


async def _export(
    principal: Principal,
    tz: ZoneInfo,
    period: str | None,
    as_of: date | None,
    fmt: Literal["xlsx", "csv"],
    table: str = "figures",
) -> Response[Any]:
    data = await _figures(principal, tz, period, as_of)
    stem = f"progress-{data.period.code}-{data.as_of.isoformat()}"
    if data.provider:
        stem += f"-{data.provider}"
    found = await services.find_period(data.period.code, data.as_of)
    certificates = services.certificate_list(
        found, data.as_of, None if principal.is_bureau else principal.provider_id
    )
    if fmt == "xlsx":
        return _attachment(await exports.workbook(data, certificates), XLSX, f"{stem}.xlsx")
    if table == "certificates":
        return Stream(
            exports.certificates_csv(certificates),
            media_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{stem}-certificates.csv"'},
        )
    return _attachment(exports.figures_csv(data), CSV, f"{stem}.csv")


def _attachment(content: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class ProgressController(Controller):
    path = "/progress"
    tags = ["reporting"]

    @get(
        "/",
        guards=[require(*ANY_ROLE)],
        summary="Progress toward the plan's targets",
        description=COUNTING_RULES,
        responses=NO_SUCH_PERIOD,
    )
    async def progress(
        self,
        request: Request,
        principal: CurrentPrincipal,
        period: PeriodParam = None,
        as_of: AsOfParam = None,
    ) -> ProgressOut:
        return await _figures(principal, _tz(request), period, as_of)

    @get(
        "/export.xlsx",
        guards=[require(*ANY_ROLE)],
        summary="Progress as .xlsx: 指标, 分项 and 证书清单 (masked ID numbers)",
        media_type=XLSX,
        responses=NO_SUCH_PERIOD,
    )
    async def export_xlsx(
        self,
        request: Request,
        principal: CurrentPrincipal,
        period: PeriodParam = None,
        as_of: AsOfParam = None,
    ) -> Response[Any]:
        return await _export(principal, _tz(request), period, as_of, "xlsx")

    @get(
        "/export.csv",
        guards=[require(*ANY_ROLE)],
        summary="Progress as CSV (UTF-8 with BOM): the figures, or the certificate list",
        media_type=CSV,
        responses=NO_SUCH_PERIOD,
    )
    async def export_csv(
        self,
        request: Request,
        principal: CurrentPrincipal,
        period: PeriodParam = None,
        as_of: AsOfParam = None,
        table: TableParam = "figures",
    ) -> Response[Any]:
        return await _export(principal, _tz(request), period, as_of, "csv", table)


# --- the dashboard page -----------------------------------------------------------------------


def _charts(data: ProgressOut) -> dict[str, Any]:
    years = list(data.by_year)
    per_year = svg.column_chart(
        [f"{y}年" for y in years],
        [
            ("新增取证人数", [data.by_year[y].certified_persons for y in years]),
            ("其中高级工以上", [data.by_year[y].advanced_certified_persons for y in years]),
        ],
        "各年度新增取证人数",
    )
    districts = {row.key: row for row in data.by_district}
    district_items = [
        (name, districts[code].certified_persons if code in districts else 0)
        for code, name in DISTRICTS.items()
    ]
    district_items += [
        (row.name, row.certified_persons) for row in data.by_district if row.key not in DISTRICTS
    ]
    level_items = [(row.name, row.certified_persons) for row in data.by_level if row.key]
    bars = {
        item.code: svg.progress_bar(item.value, item.target, data.elapsed, item.name)
        for item in data.indicators
    }
    return {
        "bars": bars,
        "per_year": per_year,
        "by_district": svg.bar_list(district_items, "各区新增取证人数"),
        "by_level": svg.bar_list(level_items, "各等级新增取证人数", colour=svg.COLOURS[2]),
    }


@get(
    "/dashboard",
    tags=["pages"],
    summary="The bureau's progress dashboard (bureau roles)",
    responses=NO_SUCH_PERIOD,
)
async def dashboard(
    request: Request, user: CurrentPageUser, period: PeriodParam = None, as_of: AsOfParam = None
) -> Template:
    require_page_role(user, *BUREAU)
    data = await _figures(user.principal, _tz(request), period, as_of)
    query = f"period={data.period.code}&as_of={data.as_of.isoformat()}"
    return Template(
        "reporting/dashboard.html",
        context={
            "user": user,
            "data": data,
            "periods": await services.list_periods(),
            "charts": _charts(data),
            "number": svg.number,
            "percent": svg.percent,
            "query": query,
        },
    )


@get(
    "/dashboard/export.xlsx",
    tags=["pages"],
    summary="Dashboard figures as .xlsx",
    media_type=XLSX,
    responses=NO_SUCH_PERIOD,
)
async def dashboard_xlsx(
    request: Request, user: CurrentPageUser, period: PeriodParam = None, as_of: AsOfParam = None
) -> Response[Any]:
    require_page_role(user, *BUREAU)
    return await _export(user.principal, _tz(request), period, as_of, "xlsx")


@get(
    "/dashboard/export.csv",
    tags=["pages"],
    summary="Dashboard figures or certificate list as CSV",
    media_type=CSV,
    responses=NO_SUCH_PERIOD,
)
async def dashboard_csv(
    request: Request,
    user: CurrentPageUser,
    period: PeriodParam = None,
    as_of: AsOfParam = None,
    table: TableParam = "figures",
) -> Response[Any]:
    require_page_role(user, *BUREAU)
    return await _export(user.principal, _tz(request), period, as_of, "csv", table)


API_HANDLERS = [PeriodController, ProgressController]
PAGE_HANDLERS = [dashboard, dashboard_xlsx, dashboard_csv]
