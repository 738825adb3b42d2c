"""The Kubernetes manifests agree with the code: generated files are current, every
environment variable is a setting the service reads, topics are the events' topics."""

import importlib
import inspect
from pathlib import Path

import pytest
import yaml

from deploy.k8s import render
from sotay_common.events import registered_event_types
from sotay_common.settings import ServiceSettings

BASE = Path(render.__file__).parent / "base"


def test_generated_manifests_are_up_to_date() -> None:
    for name, text in render.render().items():
        assert (BASE / name).read_text() == text, f"run deploy/k8s/render.py ({name} is stale)"


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"sotay_{service}.settings")
    classes = [
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if issubclass(c, ServiceSettings) and c is not ServiceSettings
    ]
    assert len(classes) == 1
    return classes[0]


BUILT = [s.name for s in render.SERVICES]


@pytest.mark.parametrize("service", BUILT)
def test_every_variable_is_a_setting_of_the_service(service: str) -> None:
    documents = list(yaml.safe_load_all((BASE / f"{service}.yaml").read_text()))
    [deployment] = [d for d in documents if d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    settings = settings_class(service)
    prefix = settings.model_config["env_prefix"]
    fields = set(settings.model_fields)
    for variable in container["env"]:
        name = variable["name"]
        assert name.startswith(prefix), name
        assert name.removeprefix(prefix).lower() in fields, f"{name} is not a {service} setting"
    probes = {
        container["livenessProbe"]["httpGet"]["path"],
        container["readinessProbe"]["httpGet"]["path"],
    }
    assert probes == {"/healthz", "/readyz"}


def test_topics_are_the_event_topics_and_their_dead_letters() -> None:
    declared = {
        d["spec"]["topicName"] for d in yaml.safe_load_all((BASE / "kafka-topics.yaml").read_text())
    }
    event_topics = {
        cls.topic for cls in registered_event_types().values() if not cls.topic.startswith("test.")
    }
    assert declared == event_topics | {f"{t}.dlq" for t in event_topics}
