"""Wiring of the members service."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from importlib.resources import files

from fastapi import FastAPI

from sotay_common.db import connect
from sotay_common.runtime import Runtime, ServiceDefinition, create_service_app
from sotay_members.api import router
from sotay_members.events import PUBLISHES
from sotay_members.service import ImportService
from sotay_members.settings import MembersSettings

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "Hồ sơ đảng viên và cây tổ chức đảng. Member records, the party organisation tree, bulk "
    "import/export. Publishes organization.* and member.* events."
)


async def run_import_worker(runtime: Runtime) -> None:
    """Runs queued imports one at a time, woken by a notification or a periodic check."""
    settings = runtime.settings
    assert isinstance(settings, MembersSettings)
    imports = ImportService(
        runtime.database, max_bytes=settings.import_max_bytes, max_rows=settings.import_max_rows
    )
    wake = asyncio.Event()
    listener = None
    while True:
        try:
            if listener is None:
                listener = await connect(
                    settings.database_url.get_secret_value(), settings.db_schema
                )
                await listener.add_listener(f"{settings.db_schema}_imports", lambda *_: wake.set())
            while await imports.run_next():
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("import worker interrupted", extra={"error": repr(exc)})
            if listener is not None:
                with suppress(Exception):
                    await listener.close()
            listener = None
        wake.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), settings.import_poll_interval_s)


def create_app(settings: MembersSettings | None = None) -> FastAPI:
    settings = settings or MembersSettings()
    return create_service_app(
        ServiceDefinition(
            settings=settings,
            title="Sổ tay Đảng viên: members",
            description=DESCRIPTION,
            migrations=files("sotay_members") / "migrations",
            routers=[router],
            publishes=PUBLISHES,
            background_tasks=[run_import_worker],
            body_limits_by_prefix={"/members/imports": settings.import_max_bytes + 1_000_000},
        )
    )
