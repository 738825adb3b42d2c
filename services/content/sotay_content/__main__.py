from sotay_common.serve import serve
from sotay_content.app import create_app
from sotay_content.settings import ContentSettings


def main() -> None:
    settings = ContentSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
