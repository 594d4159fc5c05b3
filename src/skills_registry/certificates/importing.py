"""The certificate (results) sheet, plugged into the generic upload pipeline.

Rows are checked with the same `validate_row` as the API and issued with `issue_many`
inside the upload's transaction (the pipeline decides all-or-nothing). A blank 证书编号
means the registry allocates the number; the answer lists every row's number.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from ..errors import FieldError
from ..imports.spec import Column, ImportContext, ImportKind, Outcome, Row
from .services import (
    CertificateRow,
    Issuer,
    Signing,
    issue_many,
    resolve_issuer,
    validate_row,
)
from .signing import KeyStore

COLUMNS = (
    Column("name", "姓名", example="陈志明"),
    Column("id_type", "证件类型", example="居民身份证"),
    Column(
        "id_number", "证件号码", text=True, note="请把本列设为“文本”格式 / keep this column as Text"
    ),
    Column(
        "kind",
        "证书类型",
        example="职业技能等级证书",
        note="职业技能等级证书、职业资格证书、专项职业能力证书",
    ),
    Column("occupation_code", "职业编码", example="6-31-01-03"),
    Column("occupation_name", "职业名称", example="电工"),
    Column("trade", "工种", required=False),
    Column(
        "level",
        "等级",
        required=False,
        example="三级/高级工",
        note="1-5、三级、高级工；专项职业能力证书留空",
    ),
    Column(
        "number",
        "证书编号",
        required=False,
        text=True,
        note="留空由系统按国家规则编号 / blank: the registry allocates",
    ),
    Column("issued_on", "发证日期", example="2025-06-30"),
    Column("nationality", "国籍", required=False, note="护照必填 / for passports"),
    Column("district", "所在区", required=False, example="思明区"),
)


class CertificateRows:
    def __init__(self, issuer: Issuer, ictx: ImportContext, signing: Signing) -> None:
        self._issuer = issuer
        self._ictx = ictx
        self._signing = signing
        self._warnings: dict[str, None] = {}

    def check(self, row: Row) -> tuple[CertificateRow | None, list[FieldError]]:
        try:
            issued_on = row.date("issued_on")
        except ValueError as exc:
            issued_on, date_error = None, [FieldError("issued_on", str(exc))]
        else:
            date_error = []
            if issued_on is None:
                date_error = [
                    FieldError("issued_on", "请填写发证日期 / the issue date is required")
                ]
        number = row.text("number")
        value, errors = validate_row(
            self._issuer,
            today=self._ictx.ctx.today(),
            kind=row.text("kind"),
            occupation_code=row.text("occupation_code"),
            level=row.text("level") or None,
            issued_on=issued_on,
            name=row.text("name"),
            id_type=row.text("id_type"),
            id_number=row.text("id_number"),
            nationality=row.text("nationality") or None,
            occupation_name=row.text("occupation_name") or None,
            trade=row.text("trade") or None,
            number=number or None,
            district=row.text("district") or None,
            source="evaluation" if not number else "import",
            source_ref=str(self._ictx.batch_id),
        )
        errors = date_error + [e for e in errors if e.field != "issued_on" or not date_error]
        if value is not None:
            for warning in value.warnings:
                self._warnings[warning] = None
        return (value if not errors else None), errors

    def key(self, value: CertificateRow) -> Hashable:
        if value.number:
            return ("number", value.number)
        person = value.person.document.index_material if value.person else str(value.trainee_id)
        return (
            "natural",
            person,
            value.kind,
            value.occupation_code,
            value.trade,
            value.level,
            value.issued_on,
        )

    async def store(self, rows: Sequence[tuple[int, CertificateRow]]) -> Sequence[Outcome]:
        # The pipeline owns the transaction and all-or-nothing: let every row try.
        outcomes = await issue_many(
            self._issuer,
            [value for _, value in rows],
            self._ictx.ctx,
            self._signing,
            valid_only=True,
        )
        answer: list[Outcome] = []
        for outcome in outcomes:
            if outcome.status in ("stored", "unchanged"):
                answer.append(Outcome(outcome.status, detail={"number": outcome.number}))
            else:
                answer.append(Outcome("rejected", list(outcome.errors)))
        return answer

    def warnings(self) -> list[str]:
        return list(self._warnings)


def certificate_import(keys: KeyStore, public_base_url: str) -> ImportKind:
    """The certificate sheet, signing with `keys` (the app's or the CLI's key store)."""
    signing = Signing(keys=keys, public_base_url=public_base_url)

    async def open_rows(ictx: ImportContext) -> CertificateRows:
        issuer = await resolve_issuer(ictx.provider["code"], ictx.ctx.principal)
        return CertificateRows(issuer, ictx, signing)

    return ImportKind(
        name="certificates",
        title="证书表 / certificate sheet",
        columns=COLUMNS,
        open=open_rows,
        details_key="certificates",
    )
