"""Certificate PDF benchmark: one render, a worker's memory, and a batch on 1 vs 2 workers.

    .venv/bin/python -m bench.pdf [--renders 1000] [--batch 1000]

1. Steady state: the same certificate rendered 30 times in this process after a warm-up;
   median milliseconds and the PDF's size.
2. Memory: 1 worker renders `--renders` certificates (distinct names and numbers) with the
   pool's recycling; each render reports its process's RSS, printed per 100.
   For contrast the same without recycling.
3. Batch: `--batch` certificates through the pool with 1 worker, then 2; the ratio of rates.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Iterator
from datetime import date
from multiprocessing import get_context

from skills_registry.documents.certificate_pdf import CertificateView, render_pdf
from skills_registry.documents.pool import DEFAULT_RENDERS_PER_WORKER, render_many

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "志明小红海峰美玲建国秀英伟强丽娟俊杰雪梅晓东春燕文博思雨嘉怡子涵宇轩欣怡浩然"
URL = "https://zs.rsj.xm.gov.cn/v/" + "eyJhbGciOiJFZERTQSIsImtpZCI6IjEyMzQ1Njc4OTAxIn0." + "x" * 205


def view(n: int) -> CertificateView:
    name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)] + GIVEN[(n * 7) % len(GIVEN)]
    return CertificateView(
        number=f"S00003502000125{3}{n % 1_000_000:06d}",
        kind="职业技能等级证书",
        holder_name=name,
        id_type_name="居民身份证",
        id_number_masked="3502**********123X",
        occupation_code="6-31-01-03",
        occupation_name="电工",
        trade="维修电工" if n % 2 else None,
        level=3,
        level_name="三级/高级工",
        issuer_name="厦门市集美区技工学校",
        issued_on=date(2025, 6, 30),
        verify_url=URL[:-6] + f"{n:06d}",
    )


def views(count: int) -> Iterator[CertificateView]:
    return (view(n) for n in range(count))


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _render_with_rss(v: CertificateView) -> float:
    render_pdf(v)
    return rss_mb()


def steady_state() -> None:
    v = view(1)
    render_pdf(v)
    times = []
    for _ in range(30):
        start = time.perf_counter()
        pdf = render_pdf(v)
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"single render: median {statistics.median(times):.0f} ms, "
        f"p90 {sorted(times)[26]:.0f} ms, size {len(pdf) / 1024:.0f} KB"
    )


def worker_memory(count: int, recycle: int | None) -> None:
    context = get_context("spawn")
    label = f"recycled every {recycle}" if recycle else "never recycled"
    with context.Pool(1, maxtasksperchild=recycle) as pool:
        samples = list(pool.imap(_render_with_rss, views(count)))
    marks = ", ".join(f"{i + 1}: {samples[i]:.0f}" for i in range(99, count, 100))
    print(f"worker RSS MB ({label}) after renders — {marks}")


def batch_rate(count: int, workers: int) -> float:
    start = time.perf_counter()
    done = sum(1 for _ in render_many(views(count), workers=workers))
    elapsed = time.perf_counter() - start
    print(f"batch of {done} on {workers} worker(s): {elapsed:.1f} s, {done / elapsed:.1f} PDFs/s")
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    steady_state()
    worker_memory(args.renders, DEFAULT_RENDERS_PER_WORKER)
    worker_memory(args.renders, None)
    one = batch_rate(args.batch, 1)
    two = batch_rate(args.batch, 2)
    print(f"speed-up on 2 workers: {two / one:.2f}x")


if __name__ == "__main__":
    main()
