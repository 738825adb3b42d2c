"""Renders the Kubernetes manifests in deploy/k8s/base from one table of services.

    .venv/bin/python deploy/k8s/render.py      (tests/deploy checks the files are up to date)

Each service gets a Deployment (probes on /healthz, /readyz; non-root; resources), a Service, a
PodDisruptionBudget and a HorizontalPodAutoscaler; topics are Strimzi KafkaTopic resources and
each service a KafkaUser whose ACLs allow exactly its own topics, the topics it consumes, its
consumer groups and the dead-letter topics it writes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

OUT = Path(__file__).parent / "base"
REGISTRY = "registry.example.vn/sotay"
PARTITIONS = 12
REPLICAS = 3


@dataclass(frozen=True)
class Service:
    name: str
    prefix: str
    replicas: int
    cpu: str
    memory: str
    max_replicas: int
    produces: list[str]
    consumes: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    storage: bool = False
    reads_content_store: bool = False  # texts sent by reference (claim check)
    extra_env: dict[str, str] = field(default_factory=dict)


SERVICES = [
    Service(
        "members",
        "MEMBERS_",
        2,
        "500m",
        "512Mi",
        6,
        produces=["members.member", "members.organization"],
    ),
    Service(
        "identity",
        "IDENTITY_",
        2,
        "1000m",
        "2Gi",
        8,
        produces=["identity.account"],
        consumes=["members.member", "members.organization"],
        groups=["identity.member-read-model"],
        storage=True,
    ),
    Service(
        "content",
        "CONTENT_",
        2,
        "500m",
        "768Mi",
        4,
        produces=["content.document"],
        consumes=["members.organization"],
        groups=["content.organizations"],
        storage=True,
    ),
    Service(
        "voice",
        "VOICE_",
        2,
        "1000m",
        "1Gi",
        6,
        produces=["voice.audio"],
        consumes=["content.document", "members.organization"],
        groups=["voice.render", "voice.organizations"],
        storage=True,
        reads_content_store=True,
    ),
    Service(
        "assistant",
        "ASSISTANT_",
        1,
        "1000m",
        "2Gi",
        4,
        produces=["assistant.index"],
        consumes=["content.document", "members.organization"],
        groups=["assistant.index", "assistant.organizations"],
        reads_content_store=True,
        extra_env={"ASSISTANT_QDRANT_URL": "http://qdrant:6333"},
    ),
]


def deployment(s: Service) -> dict[str, object]:
    env: list[dict[str, object]] = [
        {"name": f"{s.prefix}HTTP_HOST", "value": "0.0.0.0"},  # noqa: S104 (inside the pod)
        {"name": f"{s.prefix}HTTP_PORT", "value": "8000"},
        {
            "name": f"{s.prefix}DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": f"sotay-{s.name}-db", "key": "url"}},
        },
        {
            "name": f"{s.prefix}KAFKA_BOOTSTRAP_SERVERS",
            "valueFrom": {
                "configMapKeyRef": {"name": "sotay-common", "key": "kafka_bootstrap_servers"}
            },
        },
        {"name": f"{s.prefix}KAFKA_TOPIC_REPLICATION", "value": str(REPLICAS)},
        {"name": f"{s.prefix}KAFKA_TOPIC_PARTITIONS", "value": str(PARTITIONS)},
        {
            "name": f"{s.prefix}AUTH_JWKS_URL",
            "valueFrom": {"configMapKeyRef": {"name": "sotay-common", "key": "auth_jwks_url"}},
        },
        {"name": f"{s.prefix}LOG_LEVEL", "value": "INFO"},
    ]
    if s.reads_content_store:
        env.append(
            {
                "name": f"{s.prefix}CONTENT_STORE_URL",
                "valueFrom": {
                    "configMapKeyRef": {"name": "sotay-common", "key": "content_storage_url"}
                },
            }
        )
    if s.storage:
        env.append(
            {
                "name": f"{s.prefix}STORAGE_URL",
                "valueFrom": {
                    "configMapKeyRef": {"name": "sotay-common", "key": f"{s.name}_storage_url"}
                },
            }
        )
    env += [{"name": k, "value": v} for k, v in s.extra_env.items()]
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": s.name, "labels": {"app": s.name}},
        "spec": {
            "replicas": s.replicas,
            "selector": {"matchLabels": {"app": s.name}},
            "strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": {"app": s.name},
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8000"},
                },
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {
                            "name": s.name,
                            "image": f"{REGISTRY}/{s.name}:1.0.0",
                            "ports": [{"name": "http", "containerPort": 8000}],
                            "env": env,
                            "envFrom": [
                                {"secretRef": {"name": f"sotay-{s.name}-secrets", "optional": True}}
                            ],
                            "resources": {
                                "requests": {"cpu": s.cpu, "memory": s.memory},
                                "limits": {"memory": s.memory},
                            },
                            "startupProbe": probe | {"failureThreshold": 30},
                            "livenessProbe": probe,
                            # /readyz fails when the database is down; a Kafka outage only degrades
                            # it (the outbox keeps events), so pods keep serving requests.
                            "readinessProbe": {
                                "httpGet": {"path": "/readyz", "port": "http"},
                                "periodSeconds": 5,
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def service(s: Service) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": s.name},
        "spec": {
            "selector": {"app": s.name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def disruption_budget(s: Service) -> dict[str, object]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": s.name},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": s.name}}},
    }


def autoscaler(s: Service) -> dict[str, object]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": s.name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": s.name},
            "minReplicas": s.replicas,
            "maxReplicas": s.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def topics() -> list[dict[str, object]]:
    names = sorted({t for s in SERVICES for t in s.produces})
    resources: list[dict[str, object]] = []
    for name in names + [f"{n}.dlq" for n in names]:
        resources.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaTopic",
                "metadata": {
                    "name": name.replace(".", "-"),
                    "labels": {"strimzi.io/cluster": "sotay"},
                },
                "spec": {
                    "topicName": name,
                    "partitions": PARTITIONS,
                    "replicas": REPLICAS,
                    "config": {
                        "min.insync.replicas": "2",
                        "retention.ms": str(30 * 24 * 3600 * 1000),
                    },
                },
            }
        )
    return resources


def acl(
    resource: str, name: str, operations: list[str], pattern: str = "literal"
) -> dict[str, object]:
    return {
        "resource": {"type": resource, "name": name, "patternType": pattern},
        "operations": operations,
    }


def kafka_user(s: Service) -> dict[str, object]:
    acls = [acl("topic", t, ["Write", "Describe", "Create"]) for t in s.produces]
    acls += [acl("topic", t, ["Read", "Describe"]) for t in s.consumes]
    acls += [acl("topic", f"{t}.dlq", ["Write", "Describe", "Create"]) for t in s.consumes]
    acls += [acl("group", g, ["Read"]) for g in s.groups]
    acls.append(acl("cluster", "kafka-cluster", ["IdempotentWrite"]))
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaUser",
        "metadata": {"name": f"sotay-{s.name}", "labels": {"strimzi.io/cluster": "sotay"}},
        "spec": {
            "authentication": {"type": "tls"},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


def network_policy(s: Service) -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": s.name},
        "spec": {
            "podSelector": {"matchLabels": {"app": s.name}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": {"app": "web"}}},
                        {"namespaceSelector": {"matchLabels": {"name": "monitoring"}}},
                        {"namespaceSelector": {"matchLabels": {"name": "ingress"}}},
                    ],
                    "ports": [{"port": 8000}],
                }
            ],
        },
    }


def documents() -> dict[str, list[dict[str, object]]]:
    files: dict[str, list[dict[str, object]]] = {}
    for s in SERVICES:
        files[f"{s.name}.yaml"] = [
            deployment(s),
            service(s),
            disruption_budget(s),
            autoscaler(s),
            network_policy(s),
            kafka_user(s),
        ]
    files["kafka-topics.yaml"] = topics()
    return files


def render() -> dict[str, str]:
    header = "# Generated by deploy/k8s/render.py: edit that file, not this one.\n"
    return {
        name: header + yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=100)
        for name, docs in documents().items()
    }


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
