"""Demo data for `make run`: a few providers and people; running it twice changes nothing."""

from __future__ import annotations

from datetime import date

from .certificates.schemas import CertificateCreate
from .certificates.services import Signing, issue
from .certificates.signing import KeyStore
from .context import Context
from .crypto import Secrets
from .identity import check_character
from .principal import CLI_PRINCIPAL
from .providers.credit_code import credit_code_check_character
from .providers.schemas import ProviderCreate, ScopeItem
from .providers.services import create_provider, provider_by_code
from .settings import Settings
from .trainees.schemas import TraineeCreate
from .trainees.services import register


def _credit(first17: str) -> str:
    return first17 + credit_code_check_character(first17)


def _id(first17: str) -> str:
    return first17 + check_character(first17)


DEMO_PROVIDERS = [
    ProviderCreate(
        code="XMJG01",
        name="厦门市集美区技工学校（演示）",
        kind="技工院校",
        district="集美区",
        credit_code=_credit("12350211MB0000001"),
        scope=[
            ScopeItem(occupation_code="6-31-01-03", max_level=2),
            ScopeItem(occupation_code="4-03-02-01", max_level=3),
        ],
    ),
    ProviderCreate(
        code="XMPX02",
        name="厦门思明职业培训中心（演示）",
        kind="职业培训机构",
        district="思明",
        credit_code=_credit("52350203MJ0000002"),
        scope=[ScopeItem(occupation_code="4-10-01-06", max_level=3)],
    ),
    ProviderCreate(
        code="XMQY03",
        name="厦门海沧精密制造有限公司（演示）",
        kind="企业",
        district="350205",
        credit_code=_credit("91350205MA0000003"),
        evaluator_code="0001",
        scope=[ScopeItem(occupation_code="6-18-02-04", max_level=1)],
    ),
]

DEMO_PEOPLE = [
    TraineeCreate(
        name="陈志明",
        id_type="居民身份证",
        id_number=_id("35021119900101123"),
        district="集美",
        category="企业职工",
        phone="13800000001",
    ),
    TraineeCreate(
        name="林小红",
        id_type="居民身份证",
        id_number=_id("35020319950315224"),
        district="思明",
        category="农民工",
    ),
    TraineeCreate(
        name="Ana Silva",
        id_type="护照",
        id_number="FZ1234567",
        nationality="BRA",
        gender="女",
    ),
]


def _demo_certificates() -> list[CertificateCreate]:
    chen, lin = DEMO_PEOPLE[0], DEMO_PEOPLE[1]
    return [
        CertificateCreate(
            provider="XMJG01",
            name=chen.name,
            id_type=chen.id_type,
            id_number=chen.id_number,
            kind="职业技能等级证书",
            occupation_code="6-31-01-03",
            trade="维修电工",
            level=3,
            issued_on=date(2025, 6, 30),
        ),
        CertificateCreate(
            provider="XMPX02",
            name=lin.name,
            id_type=lin.id_type,
            id_number=lin.id_number,
            kind="职业技能等级证书",
            occupation_code="4-10-01-06",
            level=4,
            issued_on=date(2024, 11, 15),
        ),
    ]


async def seed(settings: Settings) -> str:
    created = 0
    for provider in DEMO_PROVIDERS:
        if await provider_by_code(provider.code) is None:
            await create_provider(provider, CLI_PRINCIPAL)
            created += 1
    ctx = Context(principal=CLI_PRINCIPAL, secrets=Secrets(settings.secret_key), tz=settings.tz)
    new_people = 0
    for person in DEMO_PEOPLE:
        result = await register(person, ctx)
        new_people += int(result.created)
    signing = Signing(KeyStore(settings.keys_dir), settings.public_base_url)
    urls = []
    for certificate in _demo_certificates():
        issued = await issue(certificate, ctx, signing)
        urls.append(issued.certificate.verify_url)
    lines = [f"demo data: {created} providers and {new_people} people added"]
    lines += [f"  demo certificate: {url}" for url in urls]
    return "\n".join(lines)
