"""Process entry point shared by the services: JSON logs, then uvicorn."""

from __future__ import annotations

import uvicorn

from sotay_common.logging import configure_logging
from sotay_common.settings import ServiceSettings


def serve(app_factory: str, settings: ServiceSettings) -> None:
    """Runs `app_factory` ("package.app:create_app", called without arguments: settings come
    from the environment) in `settings.http_workers` processes."""
    configure_logging(settings.service_name, settings.log_level, json_output=settings.log_json)
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers if settings.http_workers > 1 else None,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
