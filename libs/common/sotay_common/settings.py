"""Settings every service shares; each service subclasses `ServiceSettings` with its prefix."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Read from the environment with the service's prefix, e.g. MEMBERS_DATABASE_URL.

    Secrets (database password inside the URL, keys) come only from the environment.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "service"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_workers: int = 1
    log_level: str = "INFO"
    log_json: bool = True

    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/sotay")
    database_schema: str = Field(default="", description="defaults to the service name")
    database_pool_min: int = 2
    database_pool_max: int = 10

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Tansu rejects InitProducerId: turn idempotence off there.
    kafka_idempotent_producer: bool = True
    kafka_topic_partitions: int = 12
    kafka_topic_replication: int = 1
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_max_poll_interval_ms: int = 300_000
    kafka_request_timeout_ms: int = 30_000
    # Prepended to every consumer group: deployments (or tests) sharing one Kafka keep their
    # offsets apart. Empty in production.
    kafka_consumer_group_prefix: str = ""
    # TLS to the brokers (production: Strimzi listeners with a client certificate per service).
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None

    outbox_batch_size: int = 500
    outbox_poll_interval_s: float = 2.0
    outbox_retention_hours: float = 72.0
    inbox_retention_days: float = 30.0
    consumer_max_attempts: int = 5
    consumer_backoff_initial_s: float = 0.2
    consumer_backoff_max_s: float = 5.0

    auth_issuer: str = "sotay-identity"
    auth_audience: str = "sotay"
    # One of: a PEM public key, or a JWKS URL (the identity service's /.well-known/jwks.json).
    auth_public_key_pem: SecretStr | None = None
    auth_jwks_url: str | None = None
    auth_leeway_s: int = 30

    # A broker outage does not stop a service from accepting work (the outbox holds events),
    # so by default /readyz reports the broker without failing on it.
    readiness_requires_broker: bool = False

    @property
    def db_schema(self) -> str:
        return self.database_schema or self.service_name
