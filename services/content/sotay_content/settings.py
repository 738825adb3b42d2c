from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from sotay_common.settings import ServiceSettings


def default_storage_url() -> str:
    """A folder under the repository's `.run/` (development); production sets an s3:// URL."""
    repository = Path(__file__).resolve().parents[3]
    return (repository / ".run" / "content-store").as_uri()


class ContentSettings(ServiceSettings):
    """Environment variables start with CONTENT_, e.g. CONTENT_DATABASE_URL."""

    model_config = SettingsConfigDict(env_prefix="CONTENT_", extra="ignore", frozen=True)

    service_name: str = "content"
    http_port: int = 8003
    # Attachments, uploaded sources and texts sent by claim check (see sotay_common.storage).
    storage_url: str = Field(default_factory=default_storage_url)
    upload_max_bytes: int = 20 * 1024 * 1024
    attachment_max_bytes: int = 20 * 1024 * 1024
    # DOCX/PDF text extraction runs in worker threads, this many at once, each within a limit.
    extraction_workers: int = 2
    extraction_timeout_s: float = 60.0
    # Consumer group of the organisation tree read model (organization.* events of members).
