"""`make run`: the whole system on this machine with embedded defaults.

A private PostgreSQL cluster (data kept under .run/stack between runs), the Tansu broker from
its wheel (memory only), every service that is built, the web front end, demo data on first
start; prints where to open it and tokens to try it with; Ctrl-C stops everything in order.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import httpx

from sotay_devstack.brokers import Tansu
from sotay_devstack.demo_data import EXPORT_HEADER, DemoData, export_row
from sotay_devstack.postgres import PostgresCluster
from sotay_devstack.process import log_tail
from sotay_devstack.pytest_plugin import create_database, database_dsn
from sotay_devstack.services import SERVICES, ServiceFailed, ServiceProcess, service_env
from sotay_devstack.tokens import DevTokens

DEFAULT_PORTS = {
    "web": 8000,
    "identity": 8001,
    "members": 8002,
    "content": 8003,
    "voice": 8004,
    "assistant": 8005,
}
DEMO_PROVINCE = ("HB", "Đảng bộ tỉnh Hòa Bình")
DEMO_MEMBERS = 360


def _port(name: str) -> int:
    return int(os.environ.get(f"SOTAY_{name.upper()}_PORT", DEFAULT_PORTS[name]))


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def built_services() -> list[str]:
    return [
        name
        for name, (module, _, _) in SERVICES.items()
        if name != "web" and find_spec(f"{module}.app")
    ]


@dataclass
class Stack:
    repo: Path
    folder: Path
    tokens: DevTokens
    cluster: PostgresCluster
    broker: Tansu
    database_url: str
    processes: dict[str, ServiceProcess]

    def url(self, name: str) -> str:
        return self.processes[name].url


def _service_env(
    stack_folder: Path,
    name: str,
    database_url: str,
    kafka: str,
    tokens: DevTokens,
    ports: dict[str, int],
) -> dict[str, str]:
    prefix = SERVICES[name][1]
    extra = {
        **tokens.service_env(prefix),
        f"{prefix}STORAGE_URL": f"file://{stack_folder / 'storage' / name}",
        f"{prefix}CONTENT_STORE_URL": f"file://{stack_folder / 'storage' / 'content'}",
        f"{prefix}LOG_JSON": "true",
        f"{prefix}PUBLIC_URL": f"http://127.0.0.1:{ports[name]}",
    }
    if "identity" in ports:
        extra[f"{prefix}IDENTITY_URL"] = f"http://127.0.0.1:{ports['identity']}"
    if name == "identity":  # identity signs with the same dev key, so both kinds of token work
        extra["IDENTITY_SIGNING_KEY_PEM"] = tokens.private_key_pem
    return service_env(
        name,
        database_url=database_url,
        kafka_bootstrap=kafka,
        idempotent_producer=False,
        extra=extra,
    )


def start_stack(repo: Path) -> Stack:
    folder = repo / ".run" / "stack"
    names = built_services()
    ports = {name: _port(name) for name in [*names, "web"]}
    busy = [f"{name} ({port})" for name, port in ports.items() if not _port_free(port)]
    if busy:
        raise SystemExit(
            f"Ports in use: {', '.join(busy)}. Stop what uses them or choose others, e.g. "
            "SOTAY_WEB_PORT=9000 SOTAY_MEMBERS_PORT=9002 make run"
        )
    tokens = DevTokens.load_or_create(folder / "keys")
    cluster = PostgresCluster(folder / "pg", durable=True)
    cluster.ensure_initialized()
    cluster.start()
    database_url = asyncio.run(_ensure_database(cluster.dsn(), "sotay"))
    kafka_port = int(os.environ.get("SOTAY_KAFKA_PORT", "9092"))
    broker = Tansu(
        port=kafka_port if _port_free(kafka_port) else None, log_path=folder / "logs" / "tansu.log"
    )
    broker.start()
    processes: dict[str, ServiceProcess] = {}
    stack = Stack(repo, folder, tokens, cluster, broker, database_url, processes)
    for name in names:
        env = _service_env(folder, name, database_url, broker.bootstrap_servers, tokens, ports)
        processes[name] = ServiceProcess(name, ports[name], env, folder / "logs" / f"{name}.log")
        processes[name].start(wait=False)
    for process in processes.values():
        process.wait_ready(timeout=180)
    if find_spec("sotay_web"):
        web = ServiceProcess(
            "web", ports["web"], _web_env(ports, names), folder / "logs" / "web.log"
        )
        web.start()
        processes["web"] = web
    return stack


def _web_env(ports: dict[str, int], names: list[str]) -> dict[str, str]:
    env = {"WEB_HTTP_PORT": str(ports["web"])}
    for name in names:
        env[f"WEB_{name.upper()}_URL"] = f"http://127.0.0.1:{ports[name]}"
    return env


async def _ensure_database(admin_dsn: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await conn.close()
    if exists:
        return database_dsn(admin_dsn, name)
    return await create_database(admin_dsn, name)


def stop_stack(stack: Stack) -> None:
    for process in reversed(list(stack.processes.values())):
        process.stop()
    stack.broker.stop()
    stack.cluster.stop()


# -- demo data -------------------------------------------------------------------------------


def _client(stack: Stack, token: str) -> httpx.Client:
    return httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60)


def seed_members(stack: Stack) -> None:
    """A four-level province and a few hundred members, loaded through the import API."""
    members = stack.url("members")
    with _client(stack, stack.tokens.system_admin()) as client:
        if client.get(f"{members}/organizations").json():
            return
        demo = DemoData()
        tree = demo.province_tree(*DEMO_PROVINCE, districts=3, communes=3, cells=4)
        ids: dict[str, str] = {}
        for org in tree:
            body = {
                "code": org.code,
                "name": org.name,
                "type": org.type,
                "parent_id": ids.get(org.parent_code or ""),
            }
            response = client.post(f"{members}/organizations", json=body)
            response.raise_for_status()
            ids[org.code] = response.json()["id"]
        cells = [o.code for o in tree if o.type == "cell"]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_HEADER)
        for index, member in enumerate(demo.members(cells, DEMO_MEMBERS, card_prefix="0170"), 1):
            writer.writerow(export_row(index, member))
        content = buffer.getvalue().encode()
        job = client.post(
            f"{members}/members/imports", files={"file": ("hoa-binh.csv", content, "text/csv")}
        )
        job.raise_for_status()
        location = f"{members}{job.headers['location']}"
        for _ in range(600):
            state = client.get(location).json()
            if state["status"] not in ("pending", "running"):
                break
            time.sleep(0.2)
        if state["status"] != "succeeded":
            raise SystemExit(f"demo import failed: {state}")


def seed_content(stack: Stack) -> None:
    """The demo corpus (charter, rules, a resolution, news, a study topic), published."""
    if "content" not in stack.processes:
        return
    from sotay_content.demo_seed import seed_demo

    async def seed() -> None:
        async with httpx.AsyncClient(base_url=stack.url("content"), timeout=120) as client:
            await seed_demo(client, stack.tokens.system_admin())

    asyncio.run(seed())


@dataclass(frozen=True)
class DemoCallers:
    province_id: str
    cell_id: str
    cell_name: str
    secretary_id: str | None
    member_id: str
    member_name: str


def demo_callers(stack: Stack) -> DemoCallers:
    members = stack.url("members")
    with _client(stack, stack.tokens.system_admin()) as client:
        province = client.get(f"{members}/organizations").json()[0]
        search = client.get(f"{members}/members", params={"limit": 100}).json()["items"]
    secretary = next((m for m in search if "secretary" in m["positions"]), search[0])
    member = next(
        m
        for m in search
        if m["organization_id"] == secretary["organization_id"] and m["id"] != secretary["id"]
    )
    return DemoCallers(
        province["id"],
        secretary["organization_id"],
        secretary["organization_name"],
        secretary["id"],
        member["id"],
        member["full_name"],
    )


def banner(stack: Stack, callers: DemoCallers) -> str:
    tokens, day = stack.tokens, 12 * 3600
    from datetime import timedelta

    from sotay_common.auth import Role

    ttl = timedelta(seconds=day)
    admin = tokens.token(Role.SYSTEM_ADMIN, subject="demo-system-admin", ttl=ttl)
    committee = tokens.token(
        Role.COMMITTEE_ADMIN,
        Role.MEMBER,
        subject="demo-province-admin",
        organization_id=uuid.UUID(callers.province_id),
        ttl=ttl,
    )
    secretary = tokens.token(
        Role.CELL_SECRETARY,
        Role.MEMBER,
        subject="demo-secretary",
        organization_id=uuid.UUID(callers.cell_id),
        member_id=uuid.UUID(callers.secretary_id) if callers.secretary_id else None,
        ttl=ttl,
    )
    member = tokens.token(
        Role.MEMBER,
        subject="demo-member",
        member_id=uuid.UUID(callers.member_id),
        organization_id=uuid.UUID(callers.cell_id),
        ttl=ttl,
    )
    (stack.folder / "tokens.env").write_text(
        f"ADMIN_TOKEN={admin}\nPROVINCE_ADMIN_TOKEN={committee}\nSECRETARY_TOKEN={secretary}\n"
        f"MEMBER_TOKEN={member}\n"
    )
    lines = ["", "Sổ tay Đảng viên is running.", ""]
    if "web" in stack.processes:
        lines.append(f"  Open  {stack.url('web')}/")
    for name, process in stack.processes.items():
        if name != "web":
            lines.append(
                f"  {name:<10} {process.url}/docs   (OpenAPI {process.url}/openapi.json,"
                f" AsyncAPI {process.url}/asyncapi.json)"
            )
    lines += [
        f"  Kafka (Tansu) {stack.broker.bootstrap_servers}",
        f"  PostgreSQL {stack.cluster.dsn('sotay')}",
        f"  Logs  {stack.folder / 'logs'}",
        "",
        f"Tokens (12 h) are in {stack.folder / 'tokens.env'}; try:",
        f"  source {stack.folder / 'tokens.env'}",
        '  curl -H "Authorization: Bearer $PROVINCE_ADMIN_TOKEN" \\',
        f'       "{stack.url("members")}/members?q=nguyen+van"',
        f'  curl -H "Authorization: Bearer $MEMBER_TOKEN" {stack.url("members")}/members/me',
        f"  (member: {callers.member_name}; secretary of {callers.cell_name})",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def run_stack(repo: Path) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("Starting PostgreSQL, Tansu and the services...", flush=True)
    stack = start_stack(repo)
    try:
        seed_members(stack)
        seed_content(stack)
        print(banner(stack, demo_callers(stack)), flush=True)
        while not stop.wait(1.0):
            for name, process in stack.processes.items():
                if process.process is not None and process.process.poll() is not None:
                    print(
                        f"{name} stopped unexpectedly:\n{log_tail(process.log_path)}",
                        file=sys.stderr,
                    )
                    return 1
    except (ServiceFailed, httpx.HTTPError) as exc:
        print(f"make run failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("\nStopping...", flush=True)
        stop_stack(stack)
    return 0
