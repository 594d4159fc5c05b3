"""Upload benchmark: 100,000 valid enrolment rows through a real server, SQLite and PostgreSQL.

    make bench                      # or: .venv/bin/python -m bench [--rows N] [--backends sqlite]

For each database: a fresh database, `migrate`, `seed-demo` (provider XMJG01, scope
6-31-01-03 up to level 2), a provider key, `skills-registry serve` on 127.0.0.1 and a spare
port; then the CSV is POSTed to /api/v1/imports/enrolments and timed (wall clock, client
side, upload included). Peak RSS and CPU time are the server's (VmHWM and utime+stime
from /proc) plus those of the row-checking worker it starts for the upload, sampled every
20 ms while it runs. A second upload of
the same file (everything `unchanged`) is timed too. The baseline is a bare bulk insert of
the same rows (people, provider links, enrolments; values prepared beforehand, ID numbers
already encrypted) into another fresh database with the same multi-row statements, in one
transaction: the ratio says what parsing, checking and HTTP cost on top of writing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.data import row, write_csv
from tests.ports import spare_port

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / ".venv" / "bin" / "skills-registry"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Figures:
    backend: str
    rows: int
    upload_s: float
    upload_cpu_s: float
    reupload_s: float
    peak_rss_mb: float
    bare_insert_s: float

    @property
    def ratio(self) -> float:
        return self.upload_s / self.bare_insert_s


def _env(database_url: str, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SKILLS_REGISTRY_ENVIRONMENT": "development",
        "SKILLS_REGISTRY_DATABASE_URL": database_url,
        "SKILLS_REGISTRY_SECRET_KEY": SECRET,
        "SKILLS_REGISTRY_KEYS_DIR": str(work / "keys"),
        "SKILLS_REGISTRY_LOG_LEVEL": "WARNING",
    }


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(CLI), *args], env=env, capture_output=True, text=True, check=False, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"skills-registry {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server so far (load on the machine does not inflate it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _WorkerWatch(threading.Thread):
    """Samples the server's row-checking worker (imports.worker) while an upload runs: its
    peak RSS and CPU time count as the server's, since the server started it for the upload."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.peak_mb: dict[int, float] = {}
        self.cpu_s: dict[int, float] = {}
        self._finished = threading.Event()

    def run(self) -> None:
        while not self._finished.wait(0.02):
            for pid in self._workers():
                with contextlib.suppress(OSError, ValueError):
                    self.cpu_s[pid] = _cpu_seconds(pid)
                    self.peak_mb[pid] = max(self.peak_mb.get(pid, 0.0), _peak_rss_mb(pid))

    def _workers(self) -> list[int]:
        children = Path(f"/proc/{self.server_pid}/task/{self.server_pid}/children")
        found = []
        for pid in map(int, children.read_text().split()):
            with contextlib.suppress(OSError):
                if b"skills_registry.imports.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
        return found

    def stop(self) -> tuple[float, float]:
        """(peak RSS MB, CPU s) of the worker(s) seen."""
        self._finished.set()
        self.join()
        return max(self.peak_mb.values(), default=0.0), sum(self.cpu_s.values())


@contextlib.contextmanager
def _server(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = spare_port()
    process = subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(f"server did not start:\n{error}")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _upload(base: str, key: str, csv_path: Path) -> tuple[float, dict[str, Any]]:
    with csv_path.open("rb") as file:
        started = time.perf_counter()
        response = httpx.post(
            f"{base}/api/v1/imports/enrolments",
            files={"file": (csv_path.name, file, "text/csv")},
            headers={"Authorization": f"Bearer {key}"},
            timeout=600,
        )
        elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"upload answered {response.status_code}: {response.text[:2000]}")
    return elapsed, response.json()


def _prepare(database_url: str, work: Path) -> tuple[dict[str, str], str]:
    env = _env(database_url, work)
    _cli(env, "migrate")
    _cli(env, "seed-demo")
    key = _cli(env, "keys", "create", "--role", "provider", "--provider", "XMJG01").splitlines()[-1]
    return env, key.strip()


def run_upload(backend: str, database_url: str, work: Path, csv_path: Path, rows: int) -> Figures:
    env, key = _prepare(database_url, work)
    with _server(env) as (base, pid):
        cpu_before = _cpu_seconds(pid)
        watch = _WorkerWatch(pid)
        watch.start()
        upload_s, body = _upload(base, key, csv_path)
        server_cpu_s = _cpu_seconds(pid) - cpu_before
        worker_peak, worker_cpu_s = watch.stop()
        assert body["stored"] == rows, body
        server_peak = _peak_rss_mb(pid)
        reupload_s, again = _upload(base, key, csv_path)
        assert again["unchanged"] == rows, again
    print(
        f"  {backend}: upload {upload_s:.2f} s (CPU: server {server_cpu_s:.2f} s + "
        f"worker {worker_cpu_s:.2f} s), re-upload {reupload_s:.2f} s, "
        f"peak RSS: server {server_peak:.0f} MB + worker {worker_peak:.0f} MB",
        flush=True,
    )
    return Figures(
        backend,
        rows,
        upload_s,
        server_cpu_s + worker_cpu_s,
        reupload_s,
        server_peak + worker_peak,
        float("nan"),
    )


def bare_insert(database_url: str, work: Path, rows: int) -> float:
    """The same rows written with the same multi-row statements, nothing else."""
    env, _ = _prepare(database_url, work)
    os.environ.update({k: v for k, v in env.items() if k.startswith("SKILLS_REGISTRY_")})
    return asyncio.run(_bare_insert(rows))


async def _bare_insert(rows: int) -> float:
    from skills_registry import database
    from skills_registry.crypto import Secrets
    from skills_registry.imports.bulk import insert_rows
    from skills_registry.imports.pipeline import _tune_connection
    from skills_registry.providers.tables import Provider
    from skills_registry.settings import Settings
    from skills_registry.trainees.enrolments import _ENROLMENT_COLUMNS_SQL, _TRAINEE_COLUMNS_SQL
    from skills_registry.trainees.tables import Enrolment, ProviderLink, Trainee

    settings = Settings()
    database.activate(database.build_engine(settings))
    secrets = Secrets(settings.secret_key)
    provider = await Provider.select(Provider.id).where(Provider.code == "XMJG01").first()
    assert provider is not None
    now = datetime.now(UTC)
    batch = uuid.uuid4()
    people, links, enrolments = [], [], []
    for n in range(rows):
        cells = row(n)
        index = secrets.id_number_index(f"resident_id|{cells[2]}")
        trainee = uuid.uuid4()
        people.append(
            (
                trainee,
                "resident_id",
                "CHN",
                index,
                secrets.encrypt_id_number(cells[2], index),
                cells[2][:4] + "*" * 10 + cells[2][-4:],
                cells[0],
                "男",
                date(1990, 1, 1),
                "350203",
                cells[6],
                cells[4],
                now,
                now,
            )
        )
        links.append((uuid.uuid4(), provider["id"], trainee, now))
        month = 1 + n % 12
        enrolments.append(
            (
                provider["id"],
                trainee,
                "6-31-01-03",
                "电工",
                cells[9],
                3,
                date(2024, month, 1),
                date(2024, month, 20),
                "结业",
                cells[6],
                batch,
                now,
                now,
            )
        )
    started = time.perf_counter()
    async with database.write_transaction():
        await _tune_connection()  # the page cache an upload's transaction gets
        await insert_rows(Trainee, _TRAINEE_COLUMNS_SQL, people)
        await insert_rows(ProviderLink, ("id", "provider", "trainee", "created_at"), links)
        await insert_rows(Enrolment, _ENROLMENT_COLUMNS_SQL, enrolments)
    return time.perf_counter() - started


async def _pg(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def _database(backend: str, work: Path, label: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{work / f'{label}.db'}"
        return
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _postgres_available() -> bool:
    try:
        asyncio.run(_pg("SELECT 1"))
    except Exception as exc:
        print(f"  PostgreSQL skipped: nothing usable on 127.0.0.1:5432 ({exc})", flush=True)
        return False
    return True


def table(results: list[Figures]) -> str:
    lines = [
        "| database | rows | upload (s) | CPU during upload (s) "
        "| re-upload, all unchanged (s) | peak RSS (MB) "
        "| bare bulk insert (s) | upload / bare insert |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in results:
        lines.append(
            f"| {f.backend} | {f.rows:,} | {f.upload_s:.1f} | {f.upload_cpu_s:.1f} | "
            f"{f.reupload_s:.1f} | "
            f"{f.peak_rss_mb:.0f} | {f.bare_insert_s:.1f} | {f.ratio:.1f}× |"
        )
    return "\n".join(lines)


def reference_loop_s() -> float:
    """Seconds for 10 million additions in a Python loop: how fast this machine is right now.
    These shared machines vary by half from hour to hour; figures are read beside this."""
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    results: list[Figures] = []
    speed_before = reference_loop_s()
    with tempfile.TemporaryDirectory(prefix="sr-bench-") as tmp:
        work = Path(tmp)
        csv_path = write_csv(work / "enrolments-100k.csv", args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size_mb:.1f} MB CSV; {os.cpu_count()} CPUs", flush=True)
        for backend in args.backends.split(","):
            if backend == "postgres" and not _postgres_available():
                continue
            with _database(backend, work, "upload") as url:
                figures = run_upload(backend, url, work, csv_path, args.rows)
            with _database(backend, work, "bare") as url:
                figures.bare_insert_s = bare_insert(url, work, args.rows)
            print(f"  {backend}: bare bulk insert {figures.bare_insert_s:.2f} s", flush=True)
            results.append(figures)
    load = os.getloadavg()
    report = table(results)
    report += (
        f"\n\nLoad average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        "(1 / 5 / 15 min; other work on the machine slows wall-clock figures). "
        f"Machine speed: a 10-million-step Python loop took {speed_before:.2f} s before and "
        f"{reference_loop_s():.2f} s after."
    )
    print()
    print(report)
    (ROOT / "bench" / "results.md").write_text(
        f"{args.rows:,} enrolment rows ({size_mb:.1f} MB CSV), {os.cpu_count()} CPUs, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n{report}\n",
        encoding="utf-8",
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
