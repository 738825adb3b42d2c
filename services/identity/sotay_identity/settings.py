import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from sotay_common.settings import ServiceSettings
from sotay_identity.face import DEFAULT_THRESHOLD


def default_storage_url() -> str:
    """A folder under the repository's `.run/` (development); production sets an s3:// URL."""
    repository = Path(__file__).resolve().parents[3]
    return (repository / ".run" / "identity-store").as_uri()


class IdentitySettings(ServiceSettings):
    """Environment variables start with IDENTITY_, e.g. IDENTITY_DATABASE_URL.

    Secrets (signing key, template key) come from the environment only. Without them the
    service makes throw-away keys at start-up and says so in its log: tokens and stored
    templates then do not survive a restart (fine for a try-out, never for production).
    """

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore", frozen=True)

    service_name: str = "identity"
    http_port: int = 8001

    # -- tokens ---------------------------------------------------------------------------
    # RSA private key (PEM) that signs access tokens; its public half is in the JWKS.
    signing_key_pem: SecretStr | None = None
    # The JWKS "kid" of that key; defaults to its RFC 7638 thumbprint.
    signing_key_id: str | None = None
    # Public keys (PEM blocks, one after the other) of earlier signing keys, kept in the JWKS
    # after a rotation until the tokens they signed have expired.
    previous_public_keys_pem: str | None = None
    access_token_ttl_s: int = 900
    refresh_token_ttl_days: float = 30.0
    temporary_password_ttl_h: float = 72.0

    # -- first system administrator (created at start-up when no system admin exists) ----
    bootstrap_admin_phone: str | None = None
    bootstrap_admin_password: SecretStr | None = None

    # -- rate limits and lockout ----------------------------------------------------------
    # Proxies whose X-Forwarded-For is believed (CIDR list); the client address is the last
    # address before them. Empty: the TCP peer is the client.
    trusted_proxies: list[str] = Field(default_factory=list)
    login_failures_per_login: int = 5  # failures for one card number / phone ...
    login_failures_per_account: int = 10  # ... for one account (whatever login was typed) ...
    login_failures_per_address: int = 30  # ... from one client address
    login_window_s: int = 900  # failures are counted over this window
    login_lockout_s: int = 900  # and lock for this long once over the limit
    ekyc_sessions_per_address: int = 20  # per hour
    ekyc_cards_per_number: int = 8  # card photos read with one card number, per day
    ekyc_sessions_per_member: int = 6  # registrations that reach one member record, per day

    # -- eKYC -----------------------------------------------------------------------------
    ekyc_session_ttl_s: int = 600  # from start to the selfie: the challenge's deadline
    ekyc_challenge_steps: int = 3
    ekyc_max_challenge_ms: int = 60_000  # the frames of one attempt span at most this
    ekyc_max_card_attempts: int = 5
    ekyc_max_selfie_attempts: int = 3
    ekyc_max_frames: int = 40
    ekyc_upload_max_bytes: int = 30_000_000  # one request (card photo, or all frames)
    card_max_bytes: int = 10 * 1024 * 1024
    frame_max_bytes: int = 2 * 1024 * 1024
    face_threshold: float = DEFAULT_THRESHOLD
    # Under face_threshold but at least this: a person looks (needs_review); under it: rejected.
    face_review_threshold: float = 0.25
    # CPU work (OCR, face, landmarks) runs in this many threads; 0 means one per core.
    worker_threads: int = 0
    # The members service's photo store, to compare a selfie with the record photo
    # (MemberSnapshot.photo_ref). Unset: no record photo comparison.
    member_photo_storage_url: str | None = None

    # -- privacy --------------------------------------------------------------------------
    # AES-256-GCM key (base64 of 32 bytes) for face templates and images under review.
    template_key: SecretStr | None = None
    # eKYC images while under review (encrypted); deleted at the decision.
    storage_url: str = Field(default_factory=default_storage_url)
    # A review not decided within this many days is closed and its images deleted.
    review_retention_days: float = 30.0
    retention_interval_s: float = 300.0

    # Consumer group of the member and organisation read model (a setting so that tests or
    # deployments sharing one Kafka keep their offsets apart).
    read_model_group: str = "identity.member-read-model"

    @property
    def cpu_workers(self) -> int:
        return self.worker_threads or os.cpu_count() or 1
