from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """Environment variables start with WEB_; each service's base URL is WEB_<NAME>_URL."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", frozen=True)

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    identity_url: str | None = None
    members_url: str | None = None
    content_url: str | None = None
    voice_url: str | None = None
    assistant_url: str | None = None
    upstream_timeout_s: float = 60.0

    def upstreams(self) -> dict[str, str]:
        urls = {
            "identity": self.identity_url,
            "members": self.members_url,
            "content": self.content_url,
            "voice": self.voice_url,
            "assistant": self.assistant_url,
        }
        return {name: url.rstrip("/") for name, url in urls.items() if url}
