"""Services as real processes (`python -m sotay_<name>`), for `make run` and end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sotay_devstack.process import log_tail, spawn_tied, stop_process

# name -> (module, env prefix, default port)
SERVICES: dict[str, tuple[str, str, int]] = {
    "identity": ("sotay_identity", "IDENTITY_", 8001),
    "members": ("sotay_members", "MEMBERS_", 8002),
    "content": ("sotay_content", "CONTENT_", 8003),
    "voice": ("sotay_voice", "VOICE_", 8004),
    "assistant": ("sotay_assistant", "ASSISTANT_", 8005),
    "web": ("sotay_web", "WEB_", 8000),
}


class ServiceFailed(RuntimeError):
    pass


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: Mapping[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def module(self) -> str:
        return SERVICES[self.name][0]

    @property
    def prefix(self) -> str:
        return SERVICES[self.name][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True, timeout: float = 90) -> None:
        env = {
            **os.environ,
            f"{self.prefix}HTTP_PORT": str(self.port),
            f"{self.prefix}HTTP_HOST": "127.0.0.1",
            **self.env,
        }
        self.process = spawn_tied(
            [sys.executable, "-m", self.module],
            log_path=self.log_path,
            death_signal=signal.SIGTERM,
            env=env,
        )
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 90) -> None:
        """Until /readyz answers 200 (the database is up; the broker may still be connecting)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServiceFailed(f"{self.name} exited:\n{log_tail(self.log_path)}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ServiceFailed(f"{self.name} not ready after {timeout} s:\n{log_tail(self.log_path)}")

    def wait_broker(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"{self.url}/readyz", timeout=2).json()
                if body.get("checks", {}).get("broker") == "up":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ServiceFailed(f"{self.name}: broker not connected:\n{log_tail(self.log_path)}")

    def stop(self, timeout: float = 15) -> None:
        if self.process is not None:
            stop_process(self.process, first_signal=signal.SIGTERM, timeout=timeout)
            self.process = None

    def logs(self, lines: int = 50) -> str:
        return log_tail(self.log_path, lines)


def service_env(
    name: str,
    *,
    database_url: str,
    kafka_bootstrap: str,
    idempotent_producer: bool,
    extra: Mapping[str, str] | None = None,
    fast_consumers: bool = True,
) -> dict[str, str]:
    prefix = SERVICES[name][1]
    env = {
        f"{prefix}DATABASE_URL": database_url,
        f"{prefix}KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        f"{prefix}KAFKA_IDEMPOTENT_PRODUCER": "true" if idempotent_producer else "false",
    }
    if fast_consumers:  # quick group joins, as for the tests and a one-machine run
        env |= {
            f"{prefix}KAFKA_SESSION_TIMEOUT_MS": "6000",
            f"{prefix}KAFKA_HEARTBEAT_INTERVAL_MS": "300",
            f"{prefix}OUTBOX_POLL_INTERVAL_S": "1.0",
        }
    return env | dict(extra or {})
