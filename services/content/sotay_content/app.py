"""Wiring of the content service."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI

from sotay_common.runtime import ServiceDefinition, create_service_app
from sotay_content.api import router
from sotay_content.events import CONSUMERS, PUBLISHES
from sotay_content.markup import MAX_RAW_BODY_CHARS
from sotay_content.settings import ContentSettings

DESCRIPTION = (
    "Tin hoạt động, văn kiện, quy định và chuyên đề. News, party documents, regulations "
    "(Chương/Mục/Điều/Khoản/Điểm) and study topics: drafts, immutable published versions, "
    "search, the member's feed, read receipts and attachments. Publishes document.published.v1 "
    "and document.archived.v1; keeps a read model of the organisation tree from members."
)


def create_app(settings: ContentSettings | None = None) -> FastAPI:
    settings = settings or ContentSettings()
    # A JSON body of the largest accepted text (up to 4 bytes a character, escaped), or an
    # upload of the largest file: the service checks the exact limits with clear messages.
    json_limit = 4 * MAX_RAW_BODY_CHARS
    upload_limit = max(settings.upload_max_bytes, settings.attachment_max_bytes) + 1_000_000
    return create_service_app(
        ServiceDefinition(
            settings=settings,
            title="Sổ tay Đảng viên: content",
            description=DESCRIPTION,
            migrations=files("sotay_content") / "migrations",
            routers=[router],
            publishes=PUBLISHES,
            consumers=CONSUMERS,
            body_limits_by_prefix={"/documents": max(json_limit, upload_limit)},
        )
    )
