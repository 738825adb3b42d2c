"""Member profile reads: requests/s and latency of GET /members/{id} on a running members service.

    .venv/bin/python bench/members_read.py [--members 20000] [--seconds 20] [--connections 32]
        [--workers 1] [--role committee_admin|system_admin]

Starts a private PostgreSQL, Tansu and the members service (uvicorn, --workers processes), loads
a province through the import API, waits until its events are relayed and the tables vacuumed
(steady state), then drives random profile reads with wrk (Debian package
`wrk`: `SOTAY_DEB_GROUPS=bench scripts/bootstrap.sh`) using a committee admin's token, so each
read also checks the organisation scope. wrk and the service share this machine's cores.
"""

import argparse
import asyncio
import csv
import io
import json
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from sotay_common.auth import Role
from sotay_devstack.brokers import Tansu
from sotay_devstack.demo_data import EXPORT_HEADER, DemoData, export_row
from sotay_devstack.net import free_port
from sotay_devstack.postgres import PostgresCluster
from sotay_devstack.pytest_plugin import create_database
from sotay_devstack.services import ServiceProcess, service_env
from sotay_devstack.tokens import DevTokens

LUA = """
local ids = {}
for line in io.lines("%s") do ids[#ids + 1] = line end
math.randomseed(42)
request = function()
  return wrk.format("GET", "/members/" .. ids[math.random(#ids)], {["Authorization"] = "Bearer %s"})
end
"""


def load_province(url: str, token: str, count: int) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    demo = DemoData(seed=7)
    tree = demo.province_tree("BM", "Đảng bộ tỉnh Bến Mai", districts=10, communes=10, cells=5)
    ids: dict[str, str] = {}
    with httpx.Client(headers=headers, timeout=600) as client:
        for org in tree:
            body = {
                "code": org.code,
                "name": org.name,
                "type": org.type,
                "parent_id": ids.get(org.parent_code or ""),
            }
            ids[org.code] = (
                client.post(f"{url}/organizations", json=body).raise_for_status().json()["id"]
            )
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_HEADER)
        cells = [o.code for o in tree if o.type == "cell"]
        for index, member in enumerate(demo.members(cells, count, card_prefix="9"), 1):
            writer.writerow(export_row(index, member))
        started = time.monotonic()
        job = client.post(
            f"{url}/members/imports",
            files={"file": ("bm.csv", buffer.getvalue().encode(), "text/csv")},
        )
        location = url + job.raise_for_status().headers["location"]
        while (state := client.get(location).json())["status"] in ("pending", "running"):
            time.sleep(0.5)
        print(
            f"imported {state['created_count']} members in {time.monotonic() - started:.1f} s"
            f" ({state['status']})"
        )
    return ids["BM"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--role", choices=["committee_admin", "system_admin"], default="committee_admin"
    )
    args = parser.parse_args()
    tokens = DevTokens.generate()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        folder = Path(tmp)
        cluster = PostgresCluster(folder / "pg", settings={"shared_buffers": "512MB"})
        cluster.ensure_initialized()
        cluster.start()
        broker = Tansu(log_path=folder / "tansu.log")
        broker.start()
        database_url = asyncio.run(create_database(cluster.dsn(), "bench"))
        env = service_env(
            "members",
            database_url=database_url,
            kafka_bootstrap=broker.bootstrap_servers,
            idempotent_producer=False,
            extra={
                **tokens.service_env("MEMBERS_"),
                "MEMBERS_LOG_LEVEL": "WARNING",
                "MEMBERS_HTTP_WORKERS": str(args.workers),
                "MEMBERS_DATABASE_POOL_MAX": "20",
            },
        )
        service = ServiceProcess("members", free_port(), env, folder / "members.log")
        service.start()
        try:
            province = load_province(service.url, tokens.system_admin(), args.members)
            ids_file = folder / "ids.txt"
            asyncio.run(_settle(database_url))
            ids = asyncio.run(_member_ids(database_url))
            ids_file.write_text("\n".join(ids))
            token = (
                tokens.token(Role.COMMITTEE_ADMIN, organization_id=uuid.UUID(province))
                if args.role == "committee_admin"
                else tokens.system_admin()
            )
            script = folder / "read.lua"
            script.write_text(LUA % (ids_file, token))
            subprocess.run(
                ["wrk", "-t1", "-c8", "-d3s", "-s", str(script), service.url],
                check=True,
                capture_output=True,
            )  # warm-up
            result = subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{args.connections}",
                    f"-d{args.seconds}s",
                    "--latency",
                    "-s",
                    str(script),
                    service.url,
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            print(result.stdout)
            _summary(result.stdout, args)
        finally:
            service.stop()
            broker.stop()
            cluster.stop()


async def _settle(database_url: str) -> None:
    """Reads are measured in a steady state: the import's events relayed (the relay shares the
    service's event loop) and the tables vacuumed, so that neither runs during the measurement."""
    conn = await asyncpg.connect(database_url)
    started = time.perf_counter()
    try:
        while await conn.fetchval("SELECT count(*) FROM members.outbox WHERE sent_at IS NULL"):
            if time.perf_counter() - started > 300:
                raise RuntimeError("the outbox did not drain in 300 s")
            await asyncio.sleep(0.5)
        await conn.execute("VACUUM ANALYZE members.members")
        await conn.execute("VACUUM ANALYZE members.outbox")
    finally:
        await conn.close()
    print(f"outbox relayed and tables vacuumed in {time.perf_counter() - started:.1f} s")


async def _member_ids(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return [str(r["id"]) for r in await conn.fetch("SELECT id FROM members.members")]
    finally:
        await conn.close()


def _summary(output: str, args: argparse.Namespace) -> None:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"50%\s+([\d.]+\w+)", output)
    p99 = re.search(r"99%\s+([\d.]+\w+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    print(
        json.dumps(
            {
                "members": args.members,
                "connections": args.connections,
                "workers": args.workers,
                "role": args.role,
                "requests_per_s": float(rate.group(1)) if rate else None,
                "p50": p50.group(1) if p50 else None,
                "p99": p99.group(1) if p99 else None,
                "non_2xx": int(errors.group(1)) if errors else 0,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
