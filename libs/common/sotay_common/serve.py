"""Process entry point shared by the services: JSON logs, then uvicorn."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from sotay_common.logging import configure_logging
from sotay_common.settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    configure_logging(settings.service_name, settings.log_level, json_output=settings.log_json)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
