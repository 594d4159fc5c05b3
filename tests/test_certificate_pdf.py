"""The certificate PDF, read back: text, QR at 100 dpi, determinism, refusals."""

from dataclasses import replace
from datetime import date

import pytest

from skills_registry.documents import certificate_pdf
from skills_registry.documents.certificate_pdf import CertificateView, UnrenderableText, render_pdf
from skills_registry.documents.environment import check_environment
from skills_registry.documents.fonts import CertificateResources
from tests.pdf_reading import pdf_fonts, pdf_page_count, pdf_qr_codes, pdf_text

URL = (
    "https://zs.rsj.xm.gov.cn/v/eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjYxMTI2In0."
    "eyJuIjoiUzAwMDAzNTAyMDAwMTI1NTAwMDEyMyIsImsiOiJTTCIsIm8iOiI2LTMxLTAxLTAzIiwibCI6MywiZCI6IjIwMjUtMDYtMzAiLCJtIjoi6ZmIKiJ9."
    "Zm9yZ2VkLXNpZ25hdHVyZS1mb3ItdGVzdGluZy1wdXJwb3Nlcy1vbmx5LWZvcmdlZC1zaWduYXR1cmUtMTIzNA"
)
FULL_ID = "35021119900101123X"

VIEW = CertificateView(
    number="S000035020001255000123",
    kind="职业技能等级证书",
    holder_name="陈志明",
    id_type_name="居民身份证",
    id_number_masked="3502**********123X",
    occupation_code="6-31-01-03",
    occupation_name="电工",
    trade="维修电工",
    level=3,
    level_name="三级/高级工",
    issuer_name="厦门市集美区技工学校",
    issued_on=date(2025, 6, 30),
    verify_url=URL,
)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render_pdf(VIEW)


def test_environment_has_font_and_harfbuzz() -> None:
    regular, bold = check_environment()
    assert regular.path and bold.path


def test_text_has_every_printed_field_and_no_full_id(pdf: bytes) -> None:
    text = pdf_text(pdf)
    compact = "".join(text.split())
    for expected in (
        "职业技能等级证书",
        "陈志明",
        "电工",
        "维修电工",
        "6-31-01-03",
        "三级/高级工",
        "S000035020001255000123",
        "厦门市集美区技工学校",
        "2025年6月30日",
        "3502**********123X",
        "zs.rsj.xm.gov.cn",
    ):
        assert expected in compact, expected
    assert FULL_ID not in compact
    assert pdf_page_count(pdf) == 1


def test_qr_decodes_at_100_dpi_to_the_verify_url(pdf: bytes) -> None:
    assert pdf_qr_codes(pdf, dpi=100) == [URL]


def test_same_state_same_bytes_and_revocation_changes_them(pdf: bytes) -> None:
    assert render_pdf(VIEW) == pdf
    revoked = render_pdf(replace(VIEW, status="revoked", revoked_on=date(2026, 1, 5)))
    assert revoked != pdf
    assert "已撤销" in "".join(pdf_text(revoked, "-raw").split())


def test_bilingual_layout(pdf: bytes) -> None:
    text = pdf_text(render_pdf(VIEW, "zh-en"))
    assert "Vocational Skill Level Certificate" in " ".join(text.split()).replace(
        "Cer tif icate", "Certificate"
    )
    assert "Senior Worker" in text
    assert "Senior Worker" not in pdf_text(pdf)


def test_every_glyph_comes_from_the_certificate_font_cut_to_the_document() -> None:
    # 喆 and 堃 are outside GB2312 yet common in names: no fallback font may draw them.
    rare = render_pdf(replace(VIEW, holder_name="欧阳喆堃", trade="Électricien"), "zh-en")
    assert pdf_fonts(rare) == ["Certificate-Serif", "Certificate-Serif-Bold"]
    compact = "".join(pdf_text(rare).split())
    assert "欧阳喆堃" in compact
    assert "Électricien" in compact


def test_the_renderer_fetches_nothing_but_its_fonts_and_qr() -> None:
    fetcher = CertificateResources("证书", b"png")
    for url in ("file:///etc/passwd", "http://127.0.0.1/x.png", "data:text/plain,x"):
        with pytest.raises(ValueError, match="no external resources"):
            fetcher.fetch(url)


def test_a_template_asking_for_another_resource_fails_as_an_ordinary_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # WeasyPrint's own error here is a BaseException: it would slip past every handler and
    # leave a batch waiting on a dead worker.
    page = certificate_pdf.render_html(VIEW)
    with_logo = page.replace("</body>", '<img src="logo.png"></body>')
    monkeypatch.setattr(certificate_pdf, "render_html", lambda *_: with_logo)
    with pytest.raises(RuntimeError, match="asks for a resource"):
        render_pdf(VIEW)


def test_characters_the_font_lacks_are_refused() -> None:
    with pytest.raises(UnrenderableText) as caught:
        render_pdf(replace(VIEW, holder_name="陈\U0001f600明"))
    assert "\U0001f600" in caught.value.characters


def test_pool_recycles_workers_and_returns_every_pdf() -> None:
    from skills_registry.documents.pool import render_many

    views = [replace(VIEW, number=f"S00003502000125300{n:04d}") for n in range(5)]
    done: list[int] = []
    results = dict(render_many(views, workers=2, renders_per_worker=2, on_done=done.append))
    assert set(results) == {v.number for v in views}
    assert all(pdf.startswith(b"%PDF") for pdf in results.values())
    assert done == [1, 2, 3, 4, 5]
