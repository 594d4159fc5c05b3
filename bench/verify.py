"""Verification throughput: `/api/v1/verify/{token}` against `/health/live`, same server.

    .venv/bin/python -m bench.verify [--seconds 10] [--connections 64] [--backends sqlite,postgresql]

One `skills-registry serve` process (uvicorn, one worker) on a fresh database with the
demo data (two certificates); wrk drives 64 concurrent connections at `/health/live`,
then at the verify endpoint for a demo certificate's token, then at a forged token, in
the same run. Reports requests per second and the ratio verify / live. The verify path
checks the Ed25519 signature on every request and reads the status through the
per-process cache (VERIFICATION_CACHE_SECONDS, default 5 s); the same run with the cache
off is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from bench.__main__ import _cli, _env, _server


def wrk(url: str, seconds: int, connections: int) -> float:
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if match is None or non_2xx:
        raise SystemExit(f"wrk failed against {url}:\n{done.stdout}")
    return float(match.group(1))


async def _postgres_database() -> str:
    import asyncpg

    name = f"sr_bench_verify_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def run(backend: str, seconds: int, connections: int, cache_seconds: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        url = (
            f"sqlite:///{work}/verify.db"
            if backend == "sqlite"
            else asyncio.run(_postgres_database())
        )
        env = _env(url, work)
        env["SKILLS_REGISTRY_VERIFICATION_CACHE_SECONDS"] = cache_seconds
        _cli(env, "migrate")
        out = _cli(env, "seed-demo")
        token = re.findall(r"/v/(\S+)", out)[0]
        with _server(env) as (base, _pid):
            wrk(f"{base}/health/live", 2, connections)  # warm up
            live = wrk(f"{base}/health/live", seconds, connections)
            verify = wrk(f"{base}/api/v1/verify/{token}", seconds, connections)
            forged = wrk(f"{base}/api/v1/verify/{token[:-4]}AAAA", seconds, connections)
        print(
            f"{backend:10} cache {cache_seconds:>3} s: live {live:7.0f} req/s, "
            f"verify {verify:7.0f} req/s (ratio {verify / live:.2f}), forged {forged:7.0f} req/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (scripts/setup.sh does it)")
    for backend in args.backends.split(","):
        for cache in ("5", "0"):
            run(backend, args.seconds, args.connections, cache)


if __name__ == "__main__":
    main()
