"""Kafka plumbing on FastStream: the broker, topic provisioning, the record sender used by the
outbox relay and the dead-letter path, and the subscriber glue for `EventConsumer`."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import Any, Union

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage
from faststream.security import BaseSecurity

from sotay_common.consumer import EventConsumer, Record, RedeliverLater
from sotay_common.events import Event, dead_letter_topic
from sotay_common.settings import ServiceSettings

logger = logging.getLogger(__name__)


def kafka_ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    if not settings.kafka_ssl_cafile:
        return None
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_ssl_certfile:
        context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    return context


def create_broker(settings: ServiceSettings) -> KafkaBroker:
    context = kafka_ssl_context(settings)
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=BaseSecurity(ssl_context=context) if context else None,
        client_id=f"sotay-{settings.service_name}",
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
        logger=logging.getLogger(f"sotay.{settings.service_name}.kafka"),
        log_level=logging.DEBUG,
        description=f"Events of the {settings.service_name} service",
    )


class TopicProvisioner:
    """Creates topics with the configured partitions (over-provisioned up front: adding
    partitions later remaps keys). Already existing topics are left as they are."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        partitions: int,
        replication: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.partitions = partitions
        self.replication = replication
        self.ssl_context = ssl_context
        self._known: set[str] = set()

    async def ensure(self, topics: Iterable[str]) -> None:
        missing = sorted(set(topics) - self._known)
        if not missing:
            return
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            request_timeout_ms=10_000,
            security_protocol="SSL" if self.ssl_context else "PLAINTEXT",
            ssl_context=self.ssl_context,
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            to_create = [t for t in missing if t not in existing]
            if to_create:
                with suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [NewTopic(t, self.partitions, self.replication) for t in to_create]
                    )
                logger.info("topics created", extra={"topics": to_create})
            self._known.update(missing)
        finally:
            await admin.close()

    def forget(self) -> None:
        """After a broker restart (e.g. Tansu keeps topics in memory) check again."""
        self._known.clear()


class BrokerSender:
    """`RecordSender` on the FastStream broker: returns once the record is queued; the future
    resolves when Kafka acknowledged it (acks=all)."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def send(
        self, topic: str, *, key: bytes, value: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        result: Any = await self._broker.publish(
            value,
            topic,
            key=key,
            headers=headers,
            correlation_id=headers.get("correlation_id") or headers.get("ce_id"),
            no_confirm=True,
        )
        if isinstance(result, asyncio.Future):
            return result
        # FastStream's in-memory test broker delivers at once and returns no future.
        delivered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        delivered.set_result(result)
        return delivered


async def _raw_body(message: StreamMessage[Any]) -> Any:
    # The consumer parses and validates the payload itself, so that a malformed one is
    # dead-lettered instead of failing inside the framework.
    return message.body


def register_consumer(
    broker: KafkaBroker, consumer: EventConsumer, settings: ServiceSettings
) -> None:
    """Subscribes `consumer` to its topics with manual commits after each handled record."""
    # The payload schema in the AsyncAPI document: any of the handled contracts.
    documented: Any = Union[(*consumer.event_types, Any)]

    async def handle(body: documented, message: KafkaMessage) -> None:
        raw = message.raw_message
        assert not isinstance(raw, tuple)
        record = Record(
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            key=raw.key,
            value=raw.value or b"",
            headers=list(raw.headers or ()),
        )
        try:
            await consumer.process(record)
        except RedeliverLater as exc:
            logger.warning("event will be redelivered", extra={"error": str(exc)})
            await message.nack()
            return
        except Exception:
            logger.exception("consumer bug: event will be redelivered")
            await asyncio.sleep(consumer.retry.backoff_max_s)
            await message.nack()
            return
        await message.ack()

    # Real objects, not the strings postponed annotations would leave for a local name.
    handle.__annotations__ = {"body": documented, "message": KafkaMessage, "return": None}
    handle.__name__ = consumer.group.replace(".", "_").replace("-", "_")
    names = ", ".join(e.event_type for e in consumer.event_types)
    broker.subscriber(
        *consumer.topics,
        group_id=consumer.group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
        decoder=_raw_body,
        title=f"{consumer.group}",
        description=f"Consumer group {consumer.group}: handles {names}; failures go to "
        + ", ".join(dead_letter_topic(t) for t in consumer.topics),
    )(handle)


def document_publishers(broker: KafkaBroker, events: Sequence[type[Event]]) -> None:
    """Declares the events a service publishes so that they appear in its AsyncAPI document.
    (The outbox relay publishes them; these publishers only describe the contract.)"""
    for event in events:
        broker.publisher(
            event.topic,
            title=f"{event.topic}:{event.event_type}",
            schema=event,
            description=(event.__doc__ or "").strip()
            + "\n\nCloudEvents binary mode: ce_specversion, ce_id, ce_source, ce_type="
            + event.event_type
            + ", ce_time, ce_subject (aggregate id) headers; key = aggregate id.",
        )
