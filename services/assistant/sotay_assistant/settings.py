from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from sotay_assistant.index import DEFAULT_COLLECTION
from sotay_common.settings import ServiceSettings

_REPOSITORY = Path(__file__).resolve().parents[3]


def default_qdrant_path() -> str:
    """Local Qdrant's folder under the repository's `.run/` (development)."""
    return str(_REPOSITORY / ".run" / "assistant" / "qdrant")


def default_content_store_url() -> str:
    """The content service's default store (texts sent by claim check); production sets the
    same s3:// URL as CONTENT_STORAGE_URL."""
    return (_REPOSITORY / ".run" / "content-store").as_uri()


class AssistantSettings(ServiceSettings):
    """Environment variables start with ASSISTANT_, e.g. ASSISTANT_QDRANT_URL; the language
    model settings are also read without the prefix (LLM_BASE_URL, LLM_MODEL, LLM_API_KEY)."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", extra="ignore", frozen=True, populate_by_name=True
    )

    service_name: str = "assistant"
    http_port: int = 8005
    # Empty: Qdrant in local mode in `qdrant_path` (one process per folder, so one HTTP
    # worker). A server (http://qdrant:6333) lets several replicas read one index.
    qdrant_url: str = ""
    qdrant_path: str = Field(default_factory=default_qdrant_path)
    qdrant_collection: str = DEFAULT_COLLECTION
    content_store_url: str = Field(default_factory=default_content_store_url)
    llm_base_url: str = Field(
        default="", validation_alias=AliasChoices("ASSISTANT_LLM_BASE_URL", "LLM_BASE_URL")
    )
    llm_model: str = Field(
        default="default", validation_alias=AliasChoices("ASSISTANT_LLM_MODEL", "LLM_MODEL")
    )
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ASSISTANT_LLM_API_KEY", "LLM_API_KEY")
    )
    llm_timeout_s: float = 20.0
    # e5 threads: one is fastest on two cores (see sotay_assistant.dense).
    encoder_threads: int = 1
    index_poll_interval_s: float = 5.0
    index_max_attempts: int = 5
    # Answers members rated useful teach the ranker their question (sotay_assistant.memory):
    # how often each replica reads them, and how many of the latest.
    learn_interval_s: float = 300.0
    learn_limit: int = Field(default=10_000, ge=0)
    # How long a request waits for the model and index to load after a start.
    startup_wait_s: float = 60.0

    @model_validator(mode="after")
    def _one_process_for_local_qdrant(self) -> "AssistantSettings":
        if not self.qdrant_url and self.http_workers > 1:
            raise ValueError(
                "local Qdrant allows one process per folder: set ASSISTANT_QDRANT_URL to run"
                " several HTTP workers"
            )
        return self
