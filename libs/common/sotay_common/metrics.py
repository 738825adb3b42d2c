"""Prometheus metrics of a service: HTTP latency, events published/consumed/failed/dead-lettered,
outbox backlog and age. One registry per service instance (tests create several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, service: str, registry: CollectorRegistry | None = None) -> None:
        self.service = service
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.http_latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.events_published = Counter(
            "events_published_total",
            "Events the outbox relay published",
            ["topic", "type"],
            registry=r,
        )
        self.events_consumed = Counter(
            "events_consumed_total",
            "Events consumed, by outcome (processed, duplicate, ignored)",
            ["consumer", "type", "outcome"],
            registry=r,
        )
        self.events_failed = Counter(
            "events_failed_total", "Failed handler attempts", ["consumer", "type"], registry=r
        )
        self.events_dead_lettered = Counter(
            "events_dead_lettered_total",
            "Events sent to the dead-letter topic",
            ["consumer", "type"],
            registry=r,
        )
        self.event_handling = Histogram(
            "event_handling_duration_seconds",
            "Time to handle one event, retries included",
            ["consumer", "type"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "outbox_backlog", "Outbox rows not yet published", ["schema"], registry=r
        )
        self.outbox_oldest_age = Gauge(
            "outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox row",
            ["schema"],
            registry=r,
        )
