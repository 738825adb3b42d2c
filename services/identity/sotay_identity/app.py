"""Wiring of the identity service."""

from __future__ import annotations

import asyncio
import logging
from importlib.resources import files

from fastapi import FastAPI

from sotay_common.runtime import BackgroundTask, Runtime, ServiceDefinition, create_service_app
from sotay_identity.api import router
from sotay_identity.components import Components
from sotay_identity.events import PUBLISHES, consumers
from sotay_identity.registration import RegistrationService
from sotay_identity.service import AccountsService
from sotay_identity.settings import IdentitySettings

logger = logging.getLogger(__name__)

DESCRIPTION = (
    "Tài khoản, mã xác thực và đăng ký định danh điện tử (eKYC). Accounts linked to member "
    "records, sign-in by card number or phone, RS256 access tokens and rotating refresh tokens "
    "(JWKS at /.well-known/jwks.json), eKYC registration (card OCR, liveness, face match) with "
    "a review queue. Consumes member.* and organization.*; publishes member.verified.v1 and "
    "consent.withdrawn.v1."
)


def background_tasks(components: Components) -> list[BackgroundTask]:
    settings = components.settings

    async def load_models(runtime: Runtime) -> None:
        """Builds the models once per process (a few seconds), off the event loop."""
        await asyncio.to_thread(components.load_engine)
        logger.info("eKYC models loaded")

    async def retention(runtime: Runtime) -> None:
        while True:
            try:
                accounts = AccountsService(runtime.database, components)
                registration = RegistrationService(runtime.database, components, accounts)
                closed = await registration.close_stale_sessions()
                if closed:
                    logger.info("eKYC sessions closed by retention", extra={"count": closed})
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("retention run failed", extra={"error": repr(exc)})
            await asyncio.sleep(settings.retention_interval_s)

    async def bootstrap_admin(runtime: Runtime) -> None:
        if not (settings.bootstrap_admin_phone and settings.bootstrap_admin_password):
            return
        accounts = AccountsService(runtime.database, components)
        created = await accounts.bootstrap_admin(
            settings.bootstrap_admin_phone, settings.bootstrap_admin_password.get_secret_value()
        )
        if created:
            logger.info("first system administrator created")

    return [load_models, retention, bootstrap_admin]


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    components = Components.from_settings(settings)
    app = create_service_app(
        ServiceDefinition(
            settings=settings,
            title="Sổ tay Đảng viên: identity",
            description=DESCRIPTION,
            migrations=files("sotay_identity") / "migrations",
            routers=[router],
            publishes=PUBLISHES,
            consumers=consumers(settings.read_model_group),
            background_tasks=background_tasks(components),
            body_limits_by_prefix={"/ekyc/sessions": settings.ekyc_upload_max_bytes},
        )
    )
    app.state.identity = components
    # Identity verifies its own tokens in process, unless the environment names a key or a
    # JWKS URL (the runtime then installs that verifier at start-up).
    app.state.token_verifier = components.keys.verifier(leeway_s=settings.auth_leeway_s)
    return app
