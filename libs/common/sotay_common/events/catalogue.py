"""Writes docs/events.md from the event contracts: `python -m sotay_common.events.catalogue`."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

from sotay_common.events import registered_event_types
from sotay_common.events.base import Event

HEADER = """# Events

Generated from `libs/common/sotay_common/events` by `python -m sotay_common.events.catalogue`;
do not edit by hand. Every service also serves these schemas in its AsyncAPI document
(`/asyncapi.json`).

Each event is a Kafka record on its aggregate's topic, keyed by the aggregate id, with the
CloudEvents 1.0 attributes in headers (binary mode): `ce_specversion=1.0`, `ce_id` (UUID, the
deduplication key), `ce_source` (`/services/<name>`), `ce_type`, `ce_time` (RFC 3339, UTC),
`ce_subject` (the aggregate id), `content-type: application/json`, plus `correlation_id` and, when
known, `traceparent`. The value is the JSON of the model below. Delivery is at least once; consumers
deduplicate by `ce_id`. A record that cannot be processed goes to `<topic>.dlq` with the original
headers plus `dlq_error`, `dlq_consumer_group`, `dlq_attempts`, `dlq_failed_at`,
`dlq_original_topic`, `dlq_original_partition`, `dlq_original_offset`. Within a version fields are
only added (optional); anything else is a new version published beside the old one.
"""


def _type_name(schema: dict[str, Any], definitions: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type_name(s, definitions) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type_name(schema.get('items', {}), definitions)}"
    if "enum" in schema:
        return " / ".join(f"`{v}`" for v in schema["enum"])
    kind = str(schema.get("type", "any"))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _fields(schema: dict[str, Any], definitions: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, field in schema.get("properties", {}).items():
        description = str(field.get("description", "")).replace("\n", " ")
        rows.append(
            f"| `{name}` | {_type_name(field, definitions)} | {'yes' if name in required else ''}"
            f" | {description} |"
        )
    return rows


def catalogue() -> str:
    lines = [HEADER]
    by_topic: dict[str, list[type[Event]]] = {}
    for cls in registered_event_types().values():
        if not cls.topic.startswith("test."):
            by_topic.setdefault(cls.topic, []).append(cls)
    for topic in sorted(by_topic):
        lines.append(f"## Topic `{topic}`\n")
        for cls in sorted(by_topic[topic], key=lambda c: c.event_type):
            schema = cls.model_json_schema()
            definitions = schema.get("$defs", {})
            lines.append(f"### `{cls.event_type}`\n")
            lines.append(inspect.cleandoc(cls.__doc__ or "") + "\n")
            lines.append(f"Key: `{cls.key_field}`.\n")
            lines.extend(_fields(schema, definitions))
            for name, definition in definitions.items():
                if "properties" in definition:
                    lines.append(f"\n`{name}`:\n")
                    lines.extend(_fields(definition, definitions))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = catalogue()
    if target:
        target.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
