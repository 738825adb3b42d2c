"""Wiring shared by every service: the FastAPI app with its lifespan (pool, migrations, broker,
outbox relay, consumers, background tasks), health, metrics and the AsyncAPI document."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.resources.abc import Traversable
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sotay_common.auth import TokenVerifier
from sotay_common.consumer import EventConsumer, RetryPolicy, Subscription, delete_old_inbox_rows
from sotay_common.db import (
    Database,
    apply_migrations,
    common_migrations,
    connect,
    create_pool,
    load_migrations,
)
from sotay_common.errors import install_error_handlers
from sotay_common.events import Event, dead_letter_topic
from sotay_common.http import BodyLimitMiddleware, RequestContextMiddleware
from sotay_common.kafka import (
    BrokerSender,
    TopicProvisioner,
    create_broker,
    document_publishers,
    kafka_ssl_context,
    register_consumer,
)
from sotay_common.metrics import Metrics
from sotay_common.outbox import OutboxRelay, RelaySettings
from sotay_common.settings import ServiceSettings

logger = logging.getLogger(__name__)

BackgroundTask = Callable[["Runtime"], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ConsumerDefinition:
    group: str
    subscriptions: Sequence[Subscription[Any]]


@dataclass(frozen=True)
class ServiceDefinition:
    settings: ServiceSettings
    title: str
    description: str
    migrations: Traversable | None = None
    routers: Sequence[APIRouter] = ()
    publishes: Sequence[type[Event]] = ()
    consumers: Sequence[ConsumerDefinition] = ()
    background_tasks: Sequence[BackgroundTask] = ()
    body_limits_by_prefix: Mapping[str, int] = field(default_factory=dict)
    default_body_limit: int = 1_000_000
    version: str = "1.0.0"


class Runtime:
    """What a running service holds. Tests may build one by hand around a test database."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        database: Database,
        metrics: Metrics,
        token_verifier: TokenVerifier | None,
        pool: asyncpg.Pool | None = None,
        broker: KafkaBroker | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.metrics = metrics
        self.token_verifier = token_verifier
        self.pool = pool
        self.broker = broker
        self.broker_started = False
        self.relay: OutboxRelay | None = None
        self.consumers: list[EventConsumer] = []
        self.state: dict[str, Any] = {}


def build_token_verifier(settings: ServiceSettings) -> TokenVerifier | None:
    pem = settings.auth_public_key_pem.get_secret_value() if settings.auth_public_key_pem else None
    if not pem and not settings.auth_jwks_url:
        logger.warning("no token verification key configured: every protected route answers 401")
        return None
    return TokenVerifier(
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        public_key_pem=pem,
        jwks_url=settings.auth_jwks_url,
        leeway_s=settings.auth_leeway_s,
    )


def create_service_app(definition: ServiceDefinition) -> FastAPI:
    settings = definition.settings
    metrics = Metrics(settings.service_name)
    broker = create_broker(settings)
    document_publishers(broker, definition.publishes)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "runtime", None) is not None:  # built by a test
            yield
            return
        async with _running(app, definition, metrics, broker):
            yield

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
    )
    app.state.runtime = None
    app.state.broker = broker
    app.state.token_verifier = None
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=definition.default_body_limit,
        limits_by_prefix=definition.body_limits_by_prefix,
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.include_router(_operations_router(definition, metrics))
    for router in definition.routers:
        app.include_router(router)
    return app


@asynccontextmanager
async def _running(
    app: FastAPI, definition: ServiceDefinition, metrics: Metrics, broker: KafkaBroker
) -> AsyncIterator[None]:
    settings = definition.settings
    schema = settings.db_schema
    name = settings.service_name
    dsn = settings.database_url.get_secret_value()
    pool = await create_pool(
        dsn,
        schema,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        application_name=f"sotay-{settings.service_name}",
    )
    migrations = common_migrations()
    if definition.migrations is not None:
        migrations += load_migrations(settings.service_name, definition.migrations)
    async with pool.acquire() as conn:
        await apply_migrations(conn, schema, migrations)

    database = Database(pool=pool, source=f"/services/{settings.service_name}")
    verifier = build_token_verifier(settings)
    runtime = Runtime(
        settings=settings,
        database=database,
        metrics=metrics,
        token_verifier=verifier,
        pool=pool,
        broker=broker,
    )
    if verifier is not None:
        app.state.token_verifier = verifier
    sender = BrokerSender(broker)
    retry = RetryPolicy(
        max_attempts=settings.consumer_max_attempts,
        backoff_initial_s=settings.consumer_backoff_initial_s,
        backoff_max_s=settings.consumer_backoff_max_s,
    )
    for consumer_definition in definition.consumers:
        consumer = EventConsumer(
            group=settings.kafka_consumer_group_prefix + consumer_definition.group,
            database=database,
            subscriptions=consumer_definition.subscriptions,
            dead_letters=sender,
            metrics=metrics,
            retry=retry,
        )
        register_consumer(broker, consumer, settings)
        runtime.consumers.append(consumer)

    provisioner = TopicProvisioner(
        settings.kafka_bootstrap_servers,
        partitions=settings.kafka_topic_partitions,
        replication=settings.kafka_topic_replication,
        ssl_context=kafka_ssl_context(settings),
    )

    async def ensure_topics_again(topics: Sequence[str]) -> None:
        provisioner.forget()
        await provisioner.ensure(topics)

    runtime.relay = OutboxRelay(
        connect=lambda: connect(dsn, schema, application_name=f"sotay-{name}-relay"),
        schema=schema,
        sender=sender,
        metrics=metrics,
        settings=RelaySettings(
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            retention=timedelta(hours=settings.outbox_retention_hours),
        ),
        ensure_topics=ensure_topics_again,
    )
    app.state.runtime = runtime
    topics = _topics_to_provision(definition)
    tasks = [
        asyncio.create_task(_start_broker(runtime, broker, provisioner, topics), name="broker"),
        asyncio.create_task(_housekeeping(runtime), name="housekeeping"),
    ]
    tasks += [
        asyncio.create_task(task(runtime), name=getattr(task, "__name__", "background"))
        for task in definition.background_tasks
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(BaseException):
                await task
        with suppress(Exception):
            await broker.stop()
        await pool.close()
        app.state.runtime = None


def _topics_to_provision(definition: ServiceDefinition) -> list[str]:
    topics = {event.topic for event in definition.publishes}
    for consumer in definition.consumers:
        for subscription in consumer.subscriptions:
            topics.add(subscription.event.topic)
            topics.add(dead_letter_topic(subscription.event.topic))
    return sorted(topics)


async def _start_broker(
    runtime: Runtime, broker: KafkaBroker, provisioner: TopicProvisioner, topics: Sequence[str]
) -> None:
    """Connects in the background so that the HTTP API works while Kafka is away."""
    delay = 0.5
    while True:
        try:
            await provisioner.ensure(topics)
            await broker.start()
            break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning(
                "broker not reachable yet, retrying",
                extra={"error": repr(exc), "retry_in_s": delay},
            )
            with suppress(Exception):
                await broker.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)
    runtime.broker_started = True
    logger.info("broker connected")
    assert runtime.relay is not None
    await runtime.relay.run()


async def _housekeeping(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(3600)
        try:
            async with runtime.database.connection() as conn:
                await delete_old_inbox_rows(conn, runtime.settings.inbox_retention_days)
        except Exception as exc:
            logger.warning("inbox cleanup failed", extra={"error": repr(exc)})


def _operations_router(definition: ServiceDefinition, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database and broker")
    async def readyz(request: Request) -> JSONResponse:
        runtime: Runtime | None = request.app.state.runtime
        checks: dict[str, str] = {"database": "down", "broker": "down"}
        if runtime is not None:
            with suppress(Exception):
                async with asyncio.timeout(2):
                    await runtime.database.fetchval("SELECT 1")
                    checks["database"] = "up"
            if runtime.broker is not None and runtime.broker_started:
                with suppress(Exception):
                    if await runtime.broker.ping(timeout=2):
                        checks["broker"] = "up"
        required = ["database"]
        if definition.settings.readiness_requires_broker:
            required.append("broker")
        ready = all(checks[name] == "up" for name in required)
        status = "ready" if ready else "not_ready"
        if ready and checks["broker"] != "up":
            status = "degraded"
        return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi.json", summary="AsyncAPI document of the events")
    async def asyncapi(request: Request) -> JSONResponse:
        specification = AsyncAPI(
            request.app.state.broker,
            title=f"{definition.title} events",
            version=definition.version,
            description=definition.description,
        ).to_specification()
        return JSONResponse(specification.to_jsonable())

    return router
