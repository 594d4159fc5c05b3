"""The clerk's upload page: sign in, upload, read the errors, download the rows to fix."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from skills_registry.trainees.tables import Enrolment
from tests.conftest import Keys
from tests.test_pages_auth import _hidden, sign_in
from tests.upload_files import csv_bytes, read_xlsx, row


async def test_clerk_uploads_sees_errors_and_downloads_the_rows_to_fix(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    await sign_in(client, await keys.make(Role.PROVIDER, "PA", label="王老师"), "/uploads")
    page = await client.get("/uploads")
    assert page.status_code == 200
    csrf = _hidden(page.text, "csrf_token")
    bad = csv_bytes([row(1), row(2, level="七级"), row(3)], encoding="gbk")
    response = await client.post(
        "/uploads",
        data={"kind": "enrolments", "csrf_token": csrf},
        files={"file": ("报名表.csv", bad)},
    )
    assert response.status_code == 422
    assert "未保存" in response.text and "七级" in response.text
    assert await Enrolment.count() == 0
    link = re.search(r'href="(/uploads/[0-9a-f-]+/errors\.xlsx)"', response.text)
    assert link
    sheet = await client.get(link.group(1))
    assert sheet.status_code == 200
    rows = read_xlsx(sheet.content)
    assert any("七级" in str(cell) for line in rows for cell in line if cell)

    good = csv_bytes([row(1), row(3)])
    stored = await client.post(
        "/uploads",
        data={"kind": "enrolments", "csrf_token": csrf},
        files={"file": ("报名表.csv", good)},
    )
    assert stored.status_code == 200
    assert "已保存" in stored.text
    assert await Enrolment.count() == 2


async def test_upload_page_needs_csrf_and_the_right_role(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    await sign_in(client, await keys.make(Role.PROVIDER, "PA"), "/uploads")
    forged = await client.post(
        "/uploads", data={"kind": "enrolments"}, files={"file": ("x.csv", csv_bytes([row(1)]))}
    )
    assert forged.status_code == 403
    assert await Enrolment.count() == 0
    template = await client.get("/uploads/templates/enrolments.xlsx")
    assert template.status_code == 200 and template.content.startswith(b"PK")

    client.cookies.clear()
    await sign_in(client, await keys.make(Role.BUREAU_VIEWER), "/uploads")
    viewer_page = await client.get("/uploads")
    assert viewer_page.status_code == 200 and 'type="file"' not in viewer_page.text
