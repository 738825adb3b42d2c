from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from sotay_common.events.content import DocumentKind
from sotay_common.settings import ServiceSettings
from sotay_voice.engines import default_piper_voices_dir
from sotay_voice.lexicon import LocalityKind
from sotay_voice.profiles import VoiceProfile

_REPO = Path(__file__).resolve().parents[3]


class VoiceSettings(ServiceSettings):
    """Environment variables start with VOICE_, e.g. VOICE_DATABASE_URL.

    Profiles are JSON, e.g. VOICE_KIND_PROFILES='{"news": {"rate": 1.1},
    "regulation": {"engine": "piper", "voice": "vi_VN-x-medium", "pauses": {"heading_s": 1.2}}}'.
    """

    model_config = SettingsConfigDict(env_prefix="VOICE_", extra="ignore", frozen=True)

    service_name: str = "voice"
    http_port: int = 8004

    storage_url: str = Field(
        default=f"file://{_REPO / '.run' / 'voice-audio'}",
        description="Where rendered audio is kept: file:///path or s3://bucket/prefix?endpoint=",
    )
    content_store_url: str = Field(
        default=f"file://{_REPO / '.run' / 'content-store'}",
        description="The content service's store, for texts sent by reference (text_ref)",
    )

    locality_kind: LocalityKind = Field(
        default=LocalityKind.PROVINCE, description="Reads TU as Tỉnh ủy (province) or Thành ủy"
    )
    lexicon_file: Path | None = Field(
        default=None, description="Operator abbreviations, TSV like sotay_voice/data"
    )

    espeak_binary: str = "espeak-ng"
    piper_voices_dir: Path = Field(default_factory=default_piper_voices_dir)
    default_profile: VoiceProfile = VoiceProfile()
    kind_profiles: dict[str, VoiceProfile] = Field(default_factory=dict)
    first_chunk_chars: int = Field(default=80, ge=20, le=1000)
    max_chunk_chars: int = Field(default=300, ge=40, le=2000)

    render_concurrency: int = Field(default=1, ge=1, le=16)
    synthesis_workers: int = Field(default=1, ge=1, le=16)
    render_max_attempts: int = Field(default=3, ge=1)
    render_retry_backoff_s: float = 5.0
    render_stale_after_s: float = Field(
        default=60.0, description="A running render without heartbeat this long is taken over"
    )
    render_heartbeat_s: float = 5.0
    render_poll_interval_s: float = 10.0

    link_signing_key: SecretStr | None = Field(
        default=None, description="Signs audio links; by default a key made once in the database"
    )
    link_ttl_s: int = Field(default=6 * 3600, ge=60, description="How long an audio link works")

    stream_poll_interval_s: float = 0.3
    stream_max_wait_s: float = Field(
        default=900.0, description="How long a stream waits for a render that makes no progress"
    )

    @field_validator("kind_profiles")
    @classmethod
    def _known_kinds(cls, profiles: dict[str, VoiceProfile]) -> dict[str, VoiceProfile]:
        unknown = sorted(set(profiles) - {kind.value for kind in DocumentKind})
        if unknown:
            raise ValueError(f"unknown document kinds {unknown}")
        return profiles
