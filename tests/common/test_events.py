import json
import uuid
from datetime import UTC, date, datetime

import pytest

from sotay_common.context import correlation_id_var
from sotay_common.events import EventEnvelope, decode_headers, event_class, registered_event_types
from sotay_common.events.members import MemberCreatedV1, MemberStatus, Position


def a_member_created() -> MemberCreatedV1:
    return MemberCreatedV1(
        member_id=uuid.uuid4(),
        version=1,
        organization_id=uuid.uuid4(),
        full_name="Trần Thị Thủy",
        date_of_birth=date(1985, 3, 14),
        party_card_number="012345678901",
        status=MemberStatus.PROBATIONARY,
        admission_date=date(2025, 5, 19),
        official_date=None,
        positions=[Position.COMMITTEE_MEMBER],
        occurred_at=datetime.now(UTC),
    )


def test_every_event_type_is_registered_once_with_a_versioned_name() -> None:
    types = registered_event_types()
    assert "member.created.v1" in types
    for name, cls in types.items():
        assert name == cls.event_type
        assert name.rsplit(".", 1)[1].startswith("v")
        assert cls.key_field in cls.model_fields


def test_envelope_headers_are_cloudevents_binary_mode() -> None:
    event = a_member_created()
    token = correlation_id_var.set("req-42")
    try:
        envelope = EventEnvelope.for_event(event, source="/services/members")
    finally:
        correlation_id_var.reset(token)
    headers = envelope.headers()
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "member.created.v1"
    assert headers["ce_source"] == "/services/members"
    assert headers["ce_subject"] == str(event.member_id)
    assert headers["ce_time"].endswith("Z")
    assert headers["content-type"] == "application/json"
    assert headers["correlation_id"] == "req-42"
    uuid.UUID(headers["ce_id"])
    raw = [(k, v.encode()) for k, v in headers.items()]
    assert EventEnvelope.from_headers(decode_headers(raw)) == envelope


def test_the_value_is_the_data_model_only_and_round_trips() -> None:
    event = a_member_created()
    payload = json.loads(event.to_json_bytes())
    assert "ce_id" not in payload
    assert payload["full_name"] == "Trần Thị Thủy"
    assert "citizen_id" not in payload
    assert MemberCreatedV1.model_validate_json(event.to_json_bytes()) == event


def test_consumers_tolerate_fields_added_later() -> None:
    payload = json.loads(a_member_created().to_json_bytes())
    payload["a_field_from_the_future"] = 1
    cls = event_class("member.created.v1")
    assert cls is MemberCreatedV1
    assert cls.model_validate(payload).aggregate_id == payload["member_id"]


@pytest.mark.parametrize(
    "broken",
    [
        {"ce_specversion": "0.3"},
        {"ce_id": "not-a-uuid"},
        {"ce_time": "yesterday"},
    ],
)
def test_envelope_rejects_bad_headers(broken: dict[str, str]) -> None:
    headers = EventEnvelope.for_event(a_member_created(), source="/x").headers() | broken
    with pytest.raises(ValueError):
        EventEnvelope.from_headers(headers)


def test_envelope_rejects_missing_attributes() -> None:
    headers = EventEnvelope.for_event(a_member_created(), source="/x").headers()
    del headers["ce_type"]
    with pytest.raises(KeyError):
        EventEnvelope.from_headers(headers)
