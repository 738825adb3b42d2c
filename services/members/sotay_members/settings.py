from pydantic_settings import SettingsConfigDict

from sotay_common.settings import ServiceSettings


class MembersSettings(ServiceSettings):
    """Environment variables start with MEMBERS_, e.g. MEMBERS_DATABASE_URL."""

    model_config = SettingsConfigDict(env_prefix="MEMBERS_", extra="ignore", frozen=True)

    service_name: str = "members"
    http_port: int = 8002
    import_max_bytes: int = 200_000_000
    import_max_rows: int = 500_000
    import_poll_interval_s: float = 5.0
