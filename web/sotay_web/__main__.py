import uvicorn

from sotay_web.settings import WebSettings


def main() -> None:
    settings = WebSettings()
    uvicorn.run(
        "sotay_web.app:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
