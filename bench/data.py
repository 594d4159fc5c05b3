"""100,000 valid enrolment rows, as a school would export them (UTF-8 CSV)."""

from __future__ import annotations

import csv
from pathlib import Path

from skills_registry.identity import check_character

HEADER = [
    "姓名",
    "证件类型",
    "证件号码",
    "性别",
    "手机号码",
    "所在区",
    "人员类别",
    "职业编码",
    "职业名称",
    "工种",
    "申报等级",
    "培训开始日期",
    "培训结束日期",
    "培训状态",
]
DISTRICTS = ["思明", "海沧", "湖里", "集美", "同安", "翔安"]
CATEGORIES = ["农民工", "就业困难人员", "高校毕业生", "企业职工", "其他"]
LEVELS = ["5", "四级", "高级工", "三级/高级工"]
SURNAMES = "陈林黄张李王吴刘蔡杨许郑谢洪郭邱曾廖赖徐"
GIVEN = "志明小红建国丽华伟强秀英晓东海燕俊杰美玲"


def resident_id(n: int) -> str:
    year = 1960 + n % 40
    month = 1 + (n // 40) % 12
    day = 1 + (n // 480) % 28
    serial = (n // 13440) % 1000
    first17 = f"350203{year:04d}{month:02d}{day:02d}{serial:03d}"
    return first17 + check_character(first17)


def row(n: int) -> list[str]:
    month = 1 + n % 12
    return [
        SURNAMES[n % len(SURNAMES)] + GIVEN[n % 7 : n % 7 + 2],
        "居民身份证",
        resident_id(n),
        "",
        f"138{n:08d}",
        DISTRICTS[n % len(DISTRICTS)],
        CATEGORIES[n % len(CATEGORIES)],
        "6-31-01-03",
        "电工",
        "低压电工" if n % 3 == 0 else "",
        LEVELS[n % len(LEVELS)],
        f"2024-{month:02d}-01" if n % 2 else f"2024/{month}/1",
        f"2024-{month:02d}-20",
        "结业",
    ]


def write_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["2024年电工培训班报名表"])
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(row(n))
    return path
